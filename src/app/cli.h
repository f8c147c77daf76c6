/* cli.h - small helpers shared by the subcommands: option parsing and messages. */
#ifndef SF_CLI_H
#define SF_CLI_H

#include "core/err.h"

/* Returns the value following option argv[*i] (advancing *i), or NULL after printing an error. */
const char *cli_value(int argc, char **argv, int *i);
/* Parses a whole decimal integer in [lo, hi] into *out; prints an error naming opt and returns 0 if not. */
int cli_int(const char *opt, const char *s, long lo, long hi, int *out);
/* Parses a finite float in [lo, hi]; same contract as cli_int. */
int cli_float(const char *opt, const char *s, double lo, double hi, float *out);
/* Prints "stepformer: <msg>" to stderr and returns the exit status 1. */
int cli_fail(sf_err e);

int cmd_trace(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_init(int argc, char **argv);
#ifdef HAVE_SF_LESSON
int cmd_lesson(int argc, char **argv);
#endif
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_snapshots(int argc, char **argv);
#ifdef HAVE_SF_VIZ
int cmd_render(int argc, char **argv);
int cmd_gui(int argc, char **argv);
#ifdef HAVE_SF_LESSON
/* Opens the lesson window on file (or, when file is NULL, on the index of dir) and runs it until closed;
 * returns the exit status, or -1 (having printed nothing) when there is no display to open a window on. */
int gui_lessons(const char *file, const char *dir, int lang, const char *font, int w, int h, float zoom);
/* `render --lesson FILE --all --out DIR`: one PNG per lesson frame; returns the exit status. */
int lesson_render(int argc, char **argv);
#endif
#endif
#ifdef HAVE_SF_LESSON
/* `stepformer` with no arguments: the lesson index window, or without a display the list; returns the status. */
int cmd_index(int argc, char **argv);
#endif

#endif
