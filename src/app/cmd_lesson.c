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
#include <SDL2/SDL_image.h>

#include "viz/lesson_player.h"
#endif

static const char lesson_usage[] =
    "usage: stepformer lesson --check [--lang en|zh] [--strict] [--skip-claims] [--models DIR] FILE...\n"
    "       stepformer lesson [--lang en|zh] [--text] [--size WxH] [--font FILE] [--zoom Z] FILE\n"
    "  --check        load every model the lessons use and check every step; exit status 1 on any error\n"
    "  --lang         the language to show or check (English is shown where a step has no translation)\n"
    "  --strict       with --check: a step without text in --lang is an error\n"
    "  --skip-claims  do not check @expect lines and the expected answers of questions\n"
    "  --models DIR   look for each model file in DIR first (by file name), e.g. your own trained models\n"
    "  --text         print the lesson's steps as text instead of opening the window (also the fallback\n"
    "                 without a display)\n"
    "  keys in the window: PageDown/Enter next step, PageUp/Backspace back, l language, ? all keys\n";

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
            if (cmds.c[i].kind == SF_LCMD_NARRATE) continue;
            printf("  > %s\n", cli_safe(sf_lesson_cmd_describe(&cmds.c[i], d, sizeof d)));
        }
        printf("\n");
        print_text(sf_lesson_text(l, it.frame, 0, lang));
        if (f->ask.state == 2) {
            printf("  [answer: %s]\n", cli_safe(f->ask.answer_label[0] ? f->ask.answer_label : "?"));
            print_text(sf_lesson_text(l, it.frame, 1, lang));
        }
    }
}

/* Runs `stepformer lesson`: checks lessons (--check) or prints one; returns the exit status. */
/* Parses "WxH" into *w, *h; returns 0 after printing an error. */
static int parse_size(const char *cmd, const char *v, int *w, int *h) {
    char *x;
    long a = strtol(v, &x, 10), b = *x == 'x' ? strtol(x + 1, &x, 10) : 0;
    if (*x || a < 320 || b < 240 || a > 7680 || b > 4320) {
        fprintf(stderr, "stepformer %s: --size '%s': expected WIDTHxHEIGHT from 320x240 to 7680x4320\n", cmd, v);
        return 0;
    }
    *w = (int)a;
    *h = (int)b;
    return 1;
}

int cmd_lesson(int argc, char **argv) {
    int check = 0, strict = 0, claims = 1, lang = SF_LANG_EN, n_files = 0, text = 0, w = 1600, h = 900;
    float zoom = 1.0f;
    const char *models = NULL, *font = NULL, *file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--check")) check = 1;
        else if (!strcmp(a, "--text")) text = 1;
        else if (!strcmp(a, "--font")) {
            if (!(font = cli_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--size")) {
            const char *v = cli_value(argc, argv, &i);
            if (!v || !parse_size("lesson", v, &w, &h)) return 2;
        } else if (!strcmp(a, "--zoom")) {
            const char *v = cli_value(argc, argv, &i);
            if (!v || !cli_float(a, v, 0.5, 3, &zoom)) return 2;
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
        int rc = gui_lessons(file, NULL, lang, font, w, h, zoom);
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
                !strcmp(argv[i], "--size") || !strcmp(argv[i], "--zoom"))
                i++;
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
            if (missing && strict) failed = 1;
            else printf("%s: ok (%d steps, %d frames, %s)\n", cli_safe(argv[i]), l.n_steps, l.n_frames, sf_lang_name(lang));
        } else {
            print_lesson(&l, lang);
        }
        sf_lesson_free(&l);
    }
    return failed ? 1 : 0;
}

/* Writes the folder the lesson index lists into out: $STEPFORMER_LESSONS, ./lessons, or the source tree's
 * lessons/; returns 0 if none of them is a folder. */
static int lessons_dir(char *out, size_t size) {
    const char *env = getenv("STEPFORMER_LESSONS");
    const char *cand[3] = {env && *env ? env : NULL, "lessons", NULL};
#ifdef STEPFORMER_SOURCE_DIR
    cand[2] = STEPFORMER_SOURCE_DIR "/lessons";
#endif
    for (int i = 0; i < 3; i++) {
        struct stat st;
        if (cand[i] && stat(cand[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            snprintf(out, size, "%s", cand[i]);
            return 1;
        }
    }
    return 0;
}

int cmd_index(int argc, char **argv) {
    (void)argc;
    (void)argv;
    char dir[1024];
    if (!lessons_dir(dir, sizeof dir)) {
        fprintf(stderr, "stepformer: no lessons folder found (looked at $STEPFORMER_LESSONS, ./lessons"
#ifdef STEPFORMER_SOURCE_DIR
                        " and " STEPFORMER_SOURCE_DIR "/lessons"
#endif
                        "); `stepformer help` lists the commands\n");
        return 2;
    }
#ifdef HAVE_SF_VIZ
    int rc = gui_lessons(NULL, dir, SF_LANG_EN, NULL, 1600, 900, 1.0f);
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

#ifdef HAVE_SF_VIZ
/* Creates folder dir if it does not exist; returns 0 after printing an error. */
static int make_dir(const char *dir) {
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return 1;
        fprintf(stderr, "stepformer render: --out %s: exists and is not a folder\n", dir);
        return 0;
    }
    if (mkdir(dir, 0777) != 0) {
        fprintf(stderr, "stepformer render: --out %s: cannot create the folder\n", dir);
        return 0;
    }
    return 1;
}

int lesson_render(int argc, char **argv) {
    const char *file = NULL, *out = NULL, *font = NULL;
    int all = 0, frame = -1, lang = SF_LANG_EN, w = 1920, h = 1080;
    float zoom = 1.0f;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--all")) { all = 1; continue; }
        if (!(v = cli_value(argc, argv, &i))) return 2;
        if (!strcmp(a, "--lesson")) file = v;
        else if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--font")) font = v;
        else if (!strcmp(a, "--frame")) { if (!cli_int(a, v, 1, SF_LESSON_MAX_FRAMES, &frame)) return 2; }
        else if (!strcmp(a, "--size")) { if (!parse_size("render", v, &w, &h)) return 2; }
        else if (!strcmp(a, "--zoom")) { if (!cli_float(a, v, 0.5, 3, &zoom)) return 2; }
        else if (!strcmp(a, "--lang")) {
            if ((lang = sf_lang_parse(v)) < 0) { fprintf(stderr, "stepformer render: --lang '%s': expected en or zh\n", v); return 2; }
        } else { fprintf(stderr, "stepformer render: unknown option '%s' with --lesson\n", a); return 2; }
    }
    if (!file || !out || (all == (frame > 0))) {
        fprintf(stderr, "usage: stepformer render --lesson FILE (--all --out DIR | --frame N --out FILE.png)\n"
                        "                         [--lang en|zh] [--size WxH] [--font FILE] [--zoom Z]\n");
        return 2;
    }
    if (all && !make_dir(out)) return 1;
    vz_font_paths fp;
    sf_err e = vz_font_find(font, &fp);
    if (!e.ok) return cli_fail(e);
    SDL_Surface *surf = SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_ARGB8888);
    if (!surf) { fprintf(stderr, "stepformer render: %s\n", SDL_GetError()); return 1; }
    SDL_Renderer *r = SDL_CreateSoftwareRenderer(surf);
    if (!r) { fprintf(stderr, "stepformer render: %s\n", SDL_GetError()); SDL_FreeSurface(surf); return 1; }
    static vz_player p; /* large: kept off the stack */
    vz_player_init(&p, r, &fp, lang);
    p.zoom = zoom;
    int rc = 0;
    if (!(e = vz_player_open(&p, file)).ok) rc = cli_fail(e);
    int first = all ? 0 : frame - 1, last = all ? p.lesson.n_frames - 1 : frame - 1;
    if (!rc && last >= p.lesson.n_frames) {
        fprintf(stderr, "stepformer render: --frame %d: the lesson has %d frames\n", frame, p.lesson.n_frames);
        rc = 2;
    }
    for (int k = first; !rc && k <= last; k++) {
        vz_player_goto(&p, k);
        vz_player_frame(&p, w, h);
        SDL_RenderPresent(r);
        char name[64], path[1200];
        if (all) snprintf(path, sizeof path, "%s/%s", out, vz_player_slide_name(&p, k, name, sizeof name));
        else snprintf(path, sizeof path, "%s", out);
        if (IMG_SavePNG(surf, path) != 0) {
            fprintf(stderr, "stepformer render: %s: %s\n", path, IMG_GetError());
            rc = 1;
        } else if (!all) {
            printf("wrote %s\n", path);
        }
        if (p.err[0]) { fprintf(stderr, "stepformer render: frame %d: %s\n", k + 1, cli_safe(p.err)); p.err[0] = 0; }
    }
    if (!rc && all) printf("wrote %d slides of %s to %s/ (%dx%d, %s)\n", p.lesson.n_frames, file, out, w, h, sf_lang_name(lang));
    vz_player_free(&p);
    SDL_DestroyRenderer(r);
    SDL_FreeSurface(surf);
    return rc;
}
#endif
#endif
