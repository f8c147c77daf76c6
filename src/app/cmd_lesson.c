/* cmd_lesson.c - the `lesson` subcommand: check lessons against their models, or print one as text. */
#ifdef HAVE_SF_LESSON
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "lesson/interp.h"
#ifdef HAVE_SF_VIZ
#include "gui.h"
#include "viz/index.h"
#include "viz/lesson_screen.h"
#include "viz_opts.h"
#endif

static const char lesson_usage[] =
    "usage: stepformer lesson --check [--lang en|zh] [--strict] [--skip-claims] [--models DIR]\n"
    "                                 [--screen WxH[:projector]]... [--no-screen] FILE...\n"
    "       stepformer lesson [--lang en|zh] [--text] [--size WxH] [--font FILE] [--zoom Z] [--projector]\n"
    "                         [--theme dark|light] [--cmap viridis|cividis|blue-orange] FILE\n"
    "  --check        load every model the lessons use and check every step; exit status 1 on any error\n"
    "  --lang         the language to show or check (English is shown where a step has no translation)\n"
    "  --strict       with --check: a step without text in --lang is an error\n"
    "  --skip-claims  do not check @expect lines and the expected answers of questions\n"
    "  --models DIR   look for each model file in DIR first (by file name), e.g. your own trained models\n"
    "  --screen WxH   with --check: play the lesson headless at this window size and check what each step\n"
    "                 draws (highlights visible, questions hiding nothing they point at, steps that look\n"
    "                 the same however they are reached); WxH:projector in projector mode, where only the\n"
    "                 spotlight (@focus) is drawn; may repeat; default 1920x1080, 1024x768 and\n"
    "                 1024x768:projector\n"
    "  --no-screen    with --check: check against the models only, not the screen\n"
    "  --text         print the lesson's steps as text instead of opening the window (also the fallback\n"
    "                 without a display)\n"
    "  --projector    projector mode: big text, the focused panel as a spotlight beside the narration (key p)\n"
    "  --theme, --cmap  a light theme for bright rooms; colour maps (cividis: colour-blind safe)\n"
    "  keys in the window: PageDown / Space next step (on to the next lesson), PageUp back, b black screen,\n"
    "  F5 full screen, Esc out of it, l language, q quit, ? all keys (`stepformer keys --mode lesson`)\n";

/* Prints narration indented by two spaces, one paragraph per line, control characters escaped. */
static void print_text(const char *t) {
    if (!t || !*t) return;
    fputs("  ", stdout);
    for (const char *line = t; *line;) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        char *one = malloc(n + 1);
        if (!one) return;
        memcpy(one, line, n);
        one[n] = 0;
        cli_puts_safe(stdout, one, 0);
        free(one);
        if (!nl) break;
        fputs("\n  ", stdout);
        line = nl + 1;
    }
    fputc('\n', stdout);
}

/* Prints every frame of a lesson as the commands the app would execute, then its narration. */
static void print_lesson(const sf_lesson *l, int lang) {
    const char *title = l->title[lang] ? l->title[lang] : l->title[SF_LANG_EN];
    const char *intro = l->intro[lang] ? l->intro[lang] : l->intro[SF_LANG_EN];
    printf("# %s\n", cli_safe(title ? title : l->file));
    if (intro) print_text(intro);
    printf("%d steps, %d frames\n", l->n_steps, l->n_frames);
    sf_interp it;
    sf_lesson_cmds cmds;
    sf_interp_init(&it, l, lang);
    while (sf_interp_next(&it, &cmds)) {
        const sf_lesson_frame *f = sf_interp_frame(&it);
        const char *kind = f->ask.state == 1 ? " (question)" : f->ask.state == 2 ? " (answer)" : "";
        printf("\n## [%d/%d] step %d%s: %s\n", it.frame + 1, l->n_frames, f->step + 1, kind,
               cli_safe(sf_lesson_title(l, it.frame, lang)));
        for (int i = 0; i < cmds.n; i++) {
            char d[600];
            const sf_lesson_cmd *c = &cmds.c[i];
            if (c->kind == SF_LCMD_NARRATE) continue;
            if (it.frame == 0 && (c->kind == SF_LCMD_CLEAR_HIGHLIGHTS || (c->kind == SF_LCMD_QUESTION && !c->ask->state)))
                continue; /* the first frame starts from nothing: no need to say so */
            printf("  > %s\n", cli_safe(sf_lesson_cmd_describe(c, d, sizeof d)));
        }
        printf("\n");
        print_text(sf_lesson_shown(l, it.frame, 0, lang)); /* quotes filled from the models */
        if (f->ask.state == 2) {
            printf("  [answer: %s]\n", cli_safe(f->ask.answer_label[0] ? f->ask.answer_label : "?"));
            print_text(sf_lesson_shown(l, it.frame, 1, lang));
        }
    }
}

/* Runs `stepformer lesson`: checks lessons (--check) or prints one; returns the exit status. */
#define MAX_SCREENS 4

/* Checks lesson `path` on the screen at every size and mode (sizes[i]: width, height, vz_screen_mode), what
 * each frame draws against what it says; writes the problems to stderr and a note of what was checked into
 * note; returns the number of problems, -1 if it could not play the lesson. */
static int check_screens(const char *path, int lang, const char *models, const int (*sizes)[3], int n, char *note,
                         size_t size) {
#ifdef HAVE_SF_VIZ
    size_t k = (size_t)snprintf(note, size, "; screen checked at");
    int problems = 0;
    for (int i = 0; i < n; i++) {
        /* frames reached by every path are compared at the last size only: purity does not depend on it */
        vz_screen_opts so = {sizes[i][0], sizes[i][1], sizes[i][2], lang, i == n - 1, models, NULL};
        sf_err e;
        int got = vz_lesson_screen_check(path, &so, stderr, &e);
        if (got < 0) {
            fprintf(stderr, "%s: the screen check could not play the lesson: %s\n", path, e.msg);
            return -1;
        }
        problems += got;
        if (k < size)
            k += (size_t)snprintf(note + k, size - k, "%s %dx%d%s", i ? "," : "", sizes[i][0], sizes[i][1],
                                  sizes[i][2] == VZ_SCREEN_PROJECTOR ? " projector" : "");
    }
    if (n == 0) snprintf(note, size, "; screen not checked (--no-screen)");
    return problems;
#else
    (void)path; (void)lang; (void)models; (void)sizes; (void)n;
    snprintf(note, size, "; screen not checked (built without the visualizer)");
    return 0;
#endif
}

int cmd_lesson(int argc, char **argv) {
    int check = 0, strict = 0, claims = 1, lang = SF_LANG_EN, n_files = 0, text = 0, w = 1600, h = 900;
    int sizes[MAX_SCREENS][3] = {{1920, 1080, 0}, {1024, 768, 0}, {1024, 768, 1}}, n_sizes = 3, sizes_given = 0;
    float zoom = 1.0f;
#ifdef HAVE_SF_VIZ
    gui_display disp = {0, 0, 0};
    int unused_lang = 0;
#endif
    const char *models = NULL, *font = NULL, *file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
#ifdef HAVE_SF_VIZ
        if (strcmp(a, "--lang")) { /* (--lang is the lesson's own option below) */
            int d = viz_display_opt("lesson", argc, argv, &i, &disp.projector, &unused_lang, &disp.theme, &disp.cmap);
            if (d < 0) return 2;
            if (d) continue;
        }
#endif
        if (!strcmp(a, "--check")) check = 1;
        else if (!strcmp(a, "--text")) text = 1;
        else if (!strcmp(a, "--font")) {
            if (!(font = cli_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--size")) {
            const char *v = cli_value(argc, argv, &i);
            if (!v || !cli_size("lesson", a, v, &w, &h)) return 2;
        } else if (!strcmp(a, "--zoom")) {
            const char *v = cli_value(argc, argv, &i);
            if (!v || !cli_float(a, v, 0.5, 3, &zoom)) return 2;
        }
        else if (!strcmp(a, "--no-screen")) n_sizes = 0;
        else if (!strcmp(a, "--screen")) {
            const char *v = cli_value(argc, argv, &i);
            if (!v) return 2;
            if (!sizes_given) n_sizes = 0;
            sizes_given = 1;
            if (n_sizes == MAX_SCREENS) {
                fprintf(stderr, "stepformer lesson: --screen: at most %d sizes\n", MAX_SCREENS);
                return 2;
            }
            char wh[64];
            const char *colon = strchr(v, ':');
            snprintf(wh, sizeof wh, "%.*s", colon ? (int)(colon - v) : (int)strlen(v), v);
            if (colon && strcmp(colon + 1, "projector")) {
                fprintf(stderr, "stepformer lesson: --screen '%s': expected WIDTHxHEIGHT or WIDTHxHEIGHT:projector\n", v);
                return 2;
            }
            if (!cli_size("lesson", a, wh, &sizes[n_sizes][0], &sizes[n_sizes][1])) return 2;
            sizes[n_sizes++][2] = colon ? 1 : 0;
        }
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
            file = a;
        }
    }
    if (n_files == 0 || (!check && n_files != 1)) {
        fputs(lesson_usage, stderr);
        return 2;
    }
#ifdef HAVE_SF_VIZ
    if (!check && !text) { /* the window; without a display, the text below */
        int rc = gui_lessons(file, NULL, lang, font, w, h, zoom, &disp);
        if (rc >= 0) return rc;
        fprintf(stderr, "stepformer lesson: no display, so the lesson is printed as text "
                        "(slides without a display: stepformer render --lesson %s --all --out DIR)\n\n", file);
    }
#else
    (void)text; (void)font; (void)w; (void)h; (void)zoom; (void)file;
#endif
    sf_lesson_opts o = {1, claims, models};
    int failed = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) {
            if (!strcmp(argv[i], "--lang") || !strcmp(argv[i], "--models") || !strcmp(argv[i], "--font") ||
                !strcmp(argv[i], "--size") || !strcmp(argv[i], "--zoom") || !strcmp(argv[i], "--screen") ||
                !strcmp(argv[i], "--theme") || !strcmp(argv[i], "--cmap"))
                i++;
            continue;
        }
        if (check && sf_lesson_file_sniff(argv[i]) == 0) { /* (a glob of lessons takes in the folder's README.md) */
            fflush(stdout);
            printf("%s: skipped: not a lesson (no directive and no [zh] title or step heading)\n", cli_safe(argv[i]));
            continue;
        }
        sf_lesson l;
        sf_err e = sf_lesson_load(argv[i], &o, &l);
        if (!e.ok) {
            fflush(stdout);
            cli_puts_safe(stderr, e.msg, 1);
            fputc('\n', stderr);
            failed = 1;
            continue;
        }
        if (check) {
            int missing = l.missing[lang];
            fflush(stdout);
            if (missing)
                fprintf(stderr, "%s: %s%d step%s without %s text (English is shown instead)\n", cli_safe(argv[i]),
                        strict ? "error: " : "warning: ", missing, missing == 1 ? "" : "s", sf_lang_name(lang));
            char note[128];
            int bad = check_screens(argv[i], lang, models, (const int (*)[3])sizes, n_sizes, note, sizeof note);
            if (bad) {
                fprintf(stderr, "%s: %s\n", cli_safe(argv[i]), bad < 0 ? "not checked on the screen" :
                        "the lesson does not show on screen what it says (above)");
                failed = 1;
            } else if (missing && strict) failed = 1;
            else if (l.skipped[0]) /* not failed: the lesson cannot run here; the step it shows instead was checked */
                printf("%s: skipped: %s (that step checked: ok, %s%s)\n", cli_safe(argv[i]), l.skipped, sf_lang_name(lang), note);
            else printf("%s: ok (%d steps, %d frames, %s%s)\n", cli_safe(argv[i]), l.n_steps, l.n_frames, sf_lang_name(lang), note);
        } else {
            print_lesson(&l, lang);
        }
        sf_lesson_free(&l);
    }
    return failed ? 1 : 0;
}

int cmd_index(int argc, char **argv) {
    (void)argc;
    (void)argv;
    char dir[1024];
    if (!cli_lessons_dir(dir, sizeof dir)) {
        fprintf(stderr, "stepformer: no lessons folder found (looked at $STEPFORMER_LESSONS, ./lessons"
#ifdef STEPFORMER_SOURCE_DIR
                        " and " STEPFORMER_SOURCE_DIR "/lessons"
#endif
                        "); `stepformer help` lists the commands\n");
        return 2;
    }
#ifdef HAVE_SF_VIZ
    int rc = gui_lessons(NULL, dir, SF_LANG_EN, NULL, 1600, 900, 1.0f, NULL);
    if (rc >= 0) return rc;
    static vz_index_entry entries[VZ_INDEX_MAX];
    int n = vz_lessons_list(dir, entries, VZ_INDEX_MAX);
    fprintf(stderr, "stepformer: no display, so the lesson index cannot open a window. The lessons in %s:\n\n", dir);
    for (int i = 0; i < n; i++) {
        const char *base = strrchr(entries[i].path, '/');
        fprintf(stderr, "  %-34s %s\n", cli_safe(base ? base + 1 : entries[i].path),
                cli_safe(entries[i].error[0] ? entries[i].error : entries[i].title[SF_LANG_EN]));
    }
    fprintf(stderr, "\nWithout a display:\n"
                    "  stepformer lesson %s/06-encoder-vs-decoder.md --text            print a lesson's steps\n"
                    "  stepformer render --lesson %s/06-encoder-vs-decoder.md --all --out slides/   one PNG per step\n"
                    "  stepformer help                                                  every command\n",
            dir, dir);
    return 1;
#else
    fprintf(stderr, "stepformer: built without the visualizer; `stepformer lesson --text %s/NN-topic.md` prints a lesson\n", dir);
    return 1;
#endif
}

#endif
