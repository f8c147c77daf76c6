/* pairkit.h - checking a trained run left on disk: the model F and its state F.opt must both load and
 * hold the same weights (docs/training.md). */
#ifndef SF_PAIRKIT_H
#define SF_PAIRKIT_H

/* Returns NULL if model_path and model_path.opt (of task) load and agree, storing the state's step in
 * *step; otherwise a message saying what is wrong (static storage). */
const char *pk_check_pair(const char *model_path, const char *task, long *step);

#endif
