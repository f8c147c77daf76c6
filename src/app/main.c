/* main.c - the stepformer command: a git-style dispatcher to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: stepformer <command> [options]\n"
    "\n"
    "commands:\n"
    "  trace  --model FILE --input TEXT [--target TEXT] [--json] [--max-new N] [--tokenizer FILE]\n"
    "         [--temperature T] [--top-k K] [--seed S]\n"
    "         [--ablate NAME[,NAME...] [--ablate-mode zero|mean]] [--patch-from INPUT --patch SITE[,SITE...]]\n"
    "         [--logit-lens] [--heads]\n"
    "                 run a model one token at a time and print what every head looked at; knock heads out\n"
    "                 (NAME like dec.L1.self.H2), patch activations from another input, read every layer\n"
    "                 through the output head, score each head's role (docs/experiments.md)\n"
    "                 (--max-new 0: the prompt alone; -1, the default: until <eos> or full)\n"
    "  info   --model FILE [--tokenizer FILE]\n"
    "                 print a model's format, config, parameter count and tensor table\n"
    "  (--model takes a .sfm file, llm.c's gpt2_124M.bin, or a Hugging Face GPT-2 model.safetensors\n"
    "   or its folder, with config.json beside it; GPT-2's tokenizer is assets/tokenizers/gpt2.sftok)\n"
    "  init   --family encdec|gpt [--alphabet CHARS] [--d-model N] [--heads N] [--d-ff N]\n"
    "         [--enc-layers N] [--dec-layers N] [--max-len N] [--pos sinusoidal|learned|none]\n"
    "         [--norm post|pre] [--act relu|gelu] [--tied 0|1] [--scale-emb 0|1] [--seed N] --out FILE [--force]\n"
    "                 write a randomly initialised model (--force replaces an existing FILE)\n"
    "  train  --task reverse|copy|sort|words|add|dates|induction --out FILE [--steps N] [--seed S] [--threads T]\n"
    "         [--batch B] [--lr X] [--warmup N] [--save-every N] [--save-seconds S] [--resume FILE]\n"
    "         [--words FILE] [--force] [--snapshots K [--snapshot-out FILE] [--snapshot-bits 16|32]]\n"
    "                 train a task's model; saves every 30 s (Ctrl-C saves and stops; --resume goes on;\n"
    "                 an existing FILE is only replaced with --resume FILE --out FILE, or --force);\n"
    "                 --snapshots K also keeps the weights every K steps in one file (default: OUT with .snap)\n"
    "         [--watch [--probe TEXT] [--watch-every N] [--watch-frames DIR] [--size WxH] [--projector] [--lang zh]]\n"
    "                 --watch: the same run in a window (loss, learning rate, accuracy, the probe's attention;\n"
    "                 w pauses); --watch-frames DIR draws it to PNGs without a display, figures in metrics.tsv\n"
    "  eval   --model FILE --task NAME [--n N] [--show K] [--words FILE]\n"
    "                 greedy-decode N held-out examples; the last line is 'accuracy: X'\n"
    "  snapshots FILE [--extract STEP --out FILE.sfm [--force]]\n"
    "                 list a snapshot series (each snapshot's step, learning rate, losses, accuracy);\n"
    "                 --extract writes the model of the last snapshot at or before STEP\n"
    "  render --model FILE --input TEXT [--step N] [--panel NAME] [--size 1920x1080] --out FILE.png\n"
    "         [--font FILE] [--zoom Z] [--max-new N] [--temperature T] [--seed S]\n"
    "                 draw what the window shows at step N (default: the last) into a PNG, no display needed\n"
    "  render --snapshots FILE --probe TEXT --out DIR [--size WxH] [--projector] [--step N]\n"
    "                 one PNG per snapshot of a series (DIR/snapshot-STEP.png): the timeline for slides\n"
    "  gui    --model FILE --input TEXT [--size WxH] [--font FILE] [--zoom Z] [--max-new N] [--step N]\n"
    "         [--panel NAME] [--out FILE.png]  (save the window's first frames and quit)\n"
    "                 open the window and step through the model (press ? for the keys)\n"
    "  gui    --snapshots FILE --input TEXT [--snapshot STEP] [--model FILE] ...\n"
    "                 play a snapshot series back: a timeline slider, , ; earlier / later snapshot\n"
    "  gui    --train TASK --out FILE [train options]\n"
    "                 train with the watch view (train --task TASK --watch)\n"
    "  keys   [--mode index|lesson|gui] [--lang en|zh] [--markdown]\n"
    "                 print what every key does in the window\n"
#ifdef HAVE_SF_LESSON
    "  lesson [--lang en|zh] [--text] FILE\n"
    "                 play a lesson in the window (PageDown next step, b black, F5 full screen;\n"
    "                 --text prints it instead)\n"
    "  lesson --check [--lang en|zh] [--strict] [--skip-claims] [--models DIR] [--screen WxH[:projector]]\n"
    "         [--no-screen] FILE...\n"
    "                 check lessons against their models and against what the screen shows\n"
    "  render --lesson FILE (--all --out DIR | --frame N --out FILE.png) [--lang zh] [--size WxH]\n"
    "                 one PNG per lesson step: slides for a class\n"
    "  render --index [--lessons DIR] --out FILE.png [--lang zh] [--size WxH]\n"
    "                 the lesson index page as a PNG\n"
    "  (no command)     open the lesson index (without a display: list the lessons)\n"
#endif
    "  display options of gui, render and lesson: --projector (big text, the focused panel beside the\n"
    "         narration), --lang en|zh, --theme dark|light, --cmap viridis|cividis|blue-orange\n"
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
    {"keys", cmd_keys},
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
