/* cmd_lesson.c - the `lesson` subcommand: check lessons against their models, or print one as text. */
#ifdef HAVE_SF_LESSON
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "lesson/interp.h"

static const char lesson_usage[] =
    "usage: stepformer lesson --check [--lang en|zh] [--strict] [--skip-claims] [--models DIR] FILE...\n"
    "       stepformer lesson [--lang en|zh] [--models DIR] FILE\n"
    "  --check        load every model the lessons use and check every step; exit status 1 on any error\n"
    "  --lang         the language to show or check (English is shown where a step has no translation)\n"
    "  --strict       with --check: a step without text in --lang is an error\n"
    "  --skip-claims  do not check @expect lines and the expected answers of questions\n"
    "  --models DIR   look for each model file in DIR first (by file name), e.g. your own trained models\n";

/* Prints narration indented by two spaces, one paragraph per line. */
static void print_text(const char *t) {
    if (!t || !*t) return;
    fputs("  ", stdout);
    for (; *t; t++) {
        fputc(*t, stdout);
        if (*t == '\n') fputs("  ", stdout);
    }
    fputc('\n', stdout);
}

/* Prints every frame of a lesson as the commands the app would execute, then its narration. */
static void print_lesson(const sf_lesson *l, int lang) {
    const char *title = l->title[lang] ? l->title[lang] : l->title[SF_LANG_EN];
    const char *intro = l->intro[lang] ? l->intro[lang] : l->intro[SF_LANG_EN];
    printf("# %s\n", title ? title : l->file);
    if (intro) print_text(intro);
    printf("%d steps, %d frames\n", l->n_steps, l->n_frames);
    sf_interp it;
    sf_lesson_cmds cmds;
    sf_interp_init(&it, l, lang);
    while (sf_interp_next(&it, &cmds)) {
        const sf_lesson_frame *f = sf_interp_frame(&it);
        const char *kind = f->ask.state == 1 ? " (question)" : f->ask.state == 2 ? " (answer)" : "";
        printf("\n## [%d/%d] step %d%s: %s\n", it.frame + 1, l->n_frames, f->step + 1, kind,
               sf_lesson_title(l, it.frame, lang));
        for (int i = 0; i < cmds.n; i++) {
            char d[600];
            if (cmds.c[i].kind == SF_LCMD_NARRATE) continue;
            printf("  > %s\n", sf_lesson_cmd_describe(&cmds.c[i], d, sizeof d));
        }
        printf("\n");
        print_text(sf_lesson_text(l, it.frame, 0, lang));
        if (f->ask.state == 2) {
            printf("  [answer: %s]\n", f->ask.answer_label[0] ? f->ask.answer_label : "?");
            print_text(sf_lesson_text(l, it.frame, 1, lang));
        }
    }
}

/* Runs `stepformer lesson`: checks lessons (--check) or prints one; returns the exit status. */
int cmd_lesson(int argc, char **argv) {
    int check = 0, strict = 0, claims = 1, lang = SF_LANG_EN, n_files = 0;
    const char *models = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--check")) check = 1;
        else if (!strcmp(a, "--strict")) strict = 1;
        else if (!strcmp(a, "--skip-claims")) claims = 0;
        else if (!strcmp(a, "--models")) {
            if (!(models = cli_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--lang")) {
            const char *v = cli_value(argc, argv, &i);
            if (!v) return 2;
            if ((lang = sf_lang_parse(v)) < 0) {
                fprintf(stderr, "stepformer lesson: --lang '%s': expected en or zh\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(lesson_usage, stdout);
            return 0;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "stepformer lesson: unknown option '%s'\n%s", a, lesson_usage);
            return 2;
        } else {
            n_files++;
        }
    }
    if (n_files == 0 || (!check && n_files != 1)) {
        fputs(lesson_usage, stderr);
        return 2;
    }
    sf_lesson_opts o = {1, claims, models};
    int failed = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) {
            if (!strcmp(argv[i], "--lang") || !strcmp(argv[i], "--models")) i++;
            continue;
        }
        sf_lesson l;
        sf_err e = sf_lesson_load(argv[i], &o, &l);
        if (!e.ok) {
            fflush(stdout);
            fprintf(stderr, "%s\n", e.msg);
            failed = 1;
            continue;
        }
        if (check) {
            int missing = l.missing[lang];
            fflush(stdout);
            if (missing)
                fprintf(stderr, "%s: %s%d step%s without %s text (English is shown instead)\n", argv[i],
                        strict ? "error: " : "warning: ", missing, missing == 1 ? "" : "s", sf_lang_name(lang));
            if (missing && strict) failed = 1;
            else printf("%s: ok (%d steps, %d frames, %s)\n", argv[i], l.n_steps, l.n_frames, sf_lang_name(lang));
        } else {
            print_lesson(&l, lang);
        }
        sf_lesson_free(&l);
    }
    return failed ? 1 : 0;
}
#endif
