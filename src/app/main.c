/* main.c - the stepformer command: a git-style dispatcher to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: stepformer <command> [options]\n"
    "\n"
    "commands:\n"
    "  trace  --model FILE --input TEXT [--target TEXT] [--json] [--max-new N]\n"
    "         [--temperature T] [--top-k K] [--seed S]\n"
    "                 run a model one token at a time and print what every head looked at\n"
    "  info   --model FILE      print a model's config, parameter count and tensor table\n"
    "  init   --family encdec|gpt [--alphabet CHARS] [--d-model N] [--heads N] [--d-ff N]\n"
    "         [--enc-layers N] [--dec-layers N] [--max-len N] [--pos sinusoidal|learned|none]\n"
    "         [--norm post|pre] [--act relu|gelu] [--tied 0|1] [--scale-emb 0|1] [--seed N] --out FILE\n"
    "                 write a randomly initialised model\n"
    "  train  --task reverse|copy|sort|words|add|dates --out FILE [--steps N] [--seed S] [--threads T]\n"
    "         [--batch B] [--lr X] [--warmup N] [--save-every N] [--resume FILE] [--words FILE]\n"
    "         [--snapshots K [--snapshot-out FILE] [--snapshot-bits 16|32]]\n"
    "                 train a task's model (Ctrl-C saves and stops; --resume goes on); --snapshots K\n"
    "                 also keeps the weights every K steps in one file (default: OUT with .snap)\n"
    "  eval   --model FILE --task NAME [--n N] [--show K] [--words FILE]\n"
    "                 greedy-decode N held-out examples; the last line is 'accuracy: X'\n"
    "  snapshots FILE [--extract STEP --out FILE.sfm]\n"
    "                 list a snapshot series (each snapshot's step, learning rate, losses, accuracy);\n"
    "                 --extract writes the model of the last snapshot at or before STEP\n"
    "  render --model FILE --input TEXT [--step N] [--panel NAME] [--size 1920x1080] --out FILE.png\n"
    "         [--font FILE] [--zoom Z] [--max-new N] [--temperature T] [--seed S]\n"
    "                 draw what the window shows at step N (default: the last) into a PNG, no display needed\n"
    "  gui    --model FILE --input TEXT [--size WxH] [--font FILE] [--zoom Z] [--max-new N] [--step N]\n"
    "         [--out FILE.png]  (save the window's first frames and quit)\n"
    "                 open the window and step through the model (press ? for the keys)\n"
#ifdef HAVE_SF_LESSON
    "  lesson [--lang en|zh] [--text] FILE\n"
    "                 play a lesson in the window (PageDown next step; --text prints it instead)\n"
    "  lesson --check [--lang en|zh] [--strict] [--skip-claims] [--models DIR] FILE...\n"
    "                 check lessons against their models\n"
    "  render --lesson FILE (--all --out DIR | --frame N --out FILE.png) [--lang zh] [--size WxH]\n"
    "                 one PNG per lesson step: slides for a class\n"
    "  (no command)     open the lesson index (without a display: list the lessons)\n"
#endif
    "  help             show this text\n";

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
    {"trace", cmd_trace},
    {"info", cmd_info},
    {"init", cmd_init},
#ifdef HAVE_SF_LESSON
    {"lesson", cmd_lesson},
#endif
    {"train", cmd_train},
    {"eval", cmd_eval},
    {"snapshots", cmd_snapshots},
#ifdef HAVE_SF_VIZ
    {"render", cmd_render},
    {"gui", cmd_gui},
#endif
};

int main(int argc, char **argv) {
#ifdef HAVE_SF_LESSON
    if (argc < 2) return cmd_index(argc, argv); /* no arguments: the lesson index */
#endif
    if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "stepformer: unknown command '%s'\n\n%s", argv[1], usage);
    return 2;
}
