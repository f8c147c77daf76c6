/* cli.h - small helpers shared by the subcommands: option parsing and messages. */
#ifndef SF_CLI_H
#define SF_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "core/err.h"

/* Returns the value following option argv[*i] (advancing *i), or NULL after printing an error. */
const char *cli_value(int argc, char **argv, int *i);
/* Parses a whole decimal integer in [lo, hi] into *out; prints an error naming opt and returns 0 if not. */
int cli_int(const char *opt, const char *s, long lo, long hi, int *out);
/* Parses a finite float in [lo, hi]; same contract as cli_int. */
int cli_float(const char *opt, const char *s, double lo, double hi, float *out);
/* Parses a size "WxH" (320x240 to 7680x4320) given to option opt into *w, *h; prints an error naming cmd and
 * opt and returns 0 if not. */
int cli_size(const char *cmd, const char *opt, const char *v, int *w, int *h);
/* Writes the folder the lesson index lists into out: $STEPFORMER_LESSONS, ./lessons, or the source tree's
 * lessons/; returns 0 if none of them is a folder. */
int cli_lessons_dir(char *out, size_t size);
/* Prints "stepformer: <msg>" to stderr (control characters escaped) and returns the exit status 1. */
int cli_fail(sf_err e);
/* Writes s to f with control characters and the like escaped (sf_escape), newlines kept when keep_lines:
 * for anything that came from a file (lesson text, alphabets, messages quoting file content). */
void cli_puts_safe(FILE *f, const char *s, int keep_lines);
/* Returns s escaped on one line (in one of eight rotating buffers, cut at 2 KB): for printf arguments. */
const char *cli_safe(const char *s);
/* Returns a failure naming path when a file (or what a symlink there points to) already exists: train
 * and init do not replace a model unless told to (--force). */
sf_err cli_refuse_existing(const char *path);

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
int cmd_keys(int argc, char **argv);
#endif
#ifdef HAVE_SF_LESSON
/* `stepformer` with no arguments: the lesson index window, or without a display the list; returns the status. */
int cmd_index(int argc, char **argv);
#endif

#endif
