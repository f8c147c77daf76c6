/* bench_frame.c - how long the whole interface takes to draw one frame with the software renderer, for a
 * decoder-only model of 4 layers x 4 heads on 32 tokens, at 1920x1080 and 3840x2160, in normal and projector
 * mode. For each of the four, three runs:
 *   stepping: the cursor moves one step each frame (heatmaps re-upload, new rows appear);
 *   hover:    the cursor stays, the mouse moves over the attention heatmaps (the tooltip changes);
 *   baseline: clearing and filling the target once, the floor any frame pays at that size.
 * Usage: bench_frame [frames] [gpt2|gpt2-130]   prints median and p99 in milliseconds for each, and ratios to the baseline.
 * With `gpt2` the model is GPT-2 small's shape instead (12 layers x 12 heads, d_model 768, the 50257-token
 * BPE, random weights) on a 32-token prompt and generation; `gpt2-130` the same on 130 prompt tokens (132 with
 * <|endoftext|> and the generated one), where the attention panel shows the focused head's window. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/format.h"
#include "viz/app.h"

/* Returns a monotonic time in milliseconds. */
static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Returns the CPU time this thread has used, in milliseconds (steadier than wall time on a shared machine). */
static double cpu_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Orders doubles for qsort. */
static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Returns the q-quantile of v(n), sorting v. */
static double percentile(double *v, int n, double q) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[(int)(q * (n - 1) + 0.5)];
}

/* Prints the median and p99 of wall times t(n), the median's ratio to base, and the median CPU time of cpu(n). */
static void report(const char *what, double *t, double *cpu, int n, double base) {
    double med = percentile(t, n, 0.5), p99 = percentile(t, n, 0.99), cm = percentile(cpu, n, 0.5);
    printf("  %-9s median %6.2f ms   p99 %6.2f ms   cpu median %6.2f ms", what, med, p99, cm);
    if (base > 0) printf("   (%.1fx baseline)", med / base);
    printf("\n");
}

/* Times `frames` frames of app a on a w x h target in the given mode and prints the three runs. */
static int bench(vz_app *a, SDL_Renderer *r, int W, int H, int projector, int frames) {
    a->projector = projector;
    size_t sz = sizeof(double) * (size_t)frames;
    double *t = malloc(sz), *hv = malloc(sz), *bs = malloc(sz), *ct = malloc(sz), *ch = malloc(sz), *cb = malloc(sz);
    if (!t || !hv || !bs || !ct || !ch || !cb) return 1;
    /* stepping through the last tokens, where every heatmap is fullest */
    int start = a->sched.n - frames > 0 ? a->sched.n - frames : 0;
    vz_app_goto(a, start);
    vz_app_frame(a, W, H); /* warm the caches: fonts opened, first textures made */
    for (int i = 0; i < frames; i++) {
        SDL_Event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = SDL_KEYDOWN;
        ev.key.keysym.sym = SDLK_RIGHT;
        double t0 = now_ms(), c0 = cpu_ms();
        vz_app_event(a, &ev);
        vz_app_frame(a, W, H);
        SDL_RenderPresent(r);
        t[i] = now_ms() - t0;
        ct[i] = cpu_ms() - c0;
        if (a->v.step == a->sched.n - 1) vz_app_goto(a, start);
    }
    vz_app_goto(a, a->sched.n - 1);
    vz_app_frame(a, W, H);
    vz_rect ar = a->ctx.lay.r[VZ_P_ATTN];
    for (int i = 0; i < frames; i++) {
        SDL_Event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = SDL_MOUSEMOTION;
        ev.motion.x = ar.x + (i * 37) % (ar.w > 1 ? ar.w : 1);
        ev.motion.y = ar.y + (i * 23) % (ar.h > 1 ? ar.h : 1);
        double t0 = now_ms(), c0 = cpu_ms();
        vz_app_event(a, &ev);
        vz_app_frame(a, W, H);
        SDL_RenderPresent(r);
        hv[i] = now_ms() - t0;
        ch[i] = cpu_ms() - c0;
    }
    a->ctx.mx = a->ctx.my = -1;
    for (int i = 0; i < frames; i++) {
        double t0 = now_ms(), c0 = cpu_ms();
        SDL_SetRenderDrawColor(r, 18, 20, 26, 255);
        SDL_RenderClear(r);
        SDL_SetRenderDrawColor(r, 30, 33, 42, 255);
        SDL_RenderFillRect(r, NULL);
        SDL_RenderPresent(r);
        bs[i] = now_ms() - t0;
        cb[i] = cpu_ms() - c0;
    }
    double base = percentile(bs, frames, 0.5);
    printf("%dx%d %s mode:\n", W, H, projector ? "projector" : "normal");
    report("stepping", t, ct, frames, base);
    report("hover", hv, ch, frames, base);
    report("baseline", bs, cb, frames, 0);
    printf("  goal: median <= %d ms (stepping)\n", W > 1920 ? 8 : 4);
    free(t); free(hv); free(bs); free(ct); free(ch); free(cb);
    return 0;
}

int main(int argc, char **argv) {
    int frames = argc > 1 ? atoi(argv[1]) : 300;
    if (frames < 10) frames = 10;
    int gpt2 = argc > 2 && (!strcmp(argv[2], "gpt2") || !strcmp(argv[2], "gpt2-130"));
    int longp = gpt2 && !strcmp(argv[2], "gpt2-130");
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyz";
    sf_config c = sf_config_default(SF_FAMILY_GPT);
    c.vocab_size = 4 + (int)strlen(alpha); c.d_model = 64; c.n_heads = 4; c.d_ff = 256; c.n_dec_layers = 4; c.max_len = 64;
    if (gpt2) { c.vocab_size = 50257; c.d_model = 768; c.n_heads = 12; c.d_ff = 3072; c.n_dec_layers = 12; c.max_len = 1024; }
    /* <bos> + 30 prompt characters + 1 generated = 32 decoder tokens;
     * GPT-2: <|endoftext|> + 30 prompt tokens + 1 generated = 32 as well */
    const char *prompt = longp ? "The quick brown fox jumps over the lazy dog, and then the dog wakes up and chases the fox all the way "
                                 "into the dark green woods. In the morning the fox came back to the farm, looked at the sleeping dog, "
                                 "and laughed quietly before it ran away again across the fields toward the river where the old boat "
                                 "was tied. The farmer saw them both from his window and wrote the story down in a small book, which "
                                 "his children read every night before they went to sleep in the old house by the hill, happy. Nobody in "
                                 "the village ever forgot that long and happy summer, or the clever fox. Then it ran far away."
                       : gpt2 ? "The quick brown fox jumps over the lazy dog, and then the dog wakes up and chases the fox all the way into the dark green woods."
                              : "thequickbrownfoxjumpsoverthela";
    vz_font_paths fp;
    sf_err e = vz_font_find(NULL, &fp);
    if (!e.ok) { fprintf(stderr, "%s\n", e.msg); return 1; }
    static const int sizes[2][2] = {{1920, 1080}, {3840, 2160}};
    int first = 1;
    for (int si = 0; si < 2; si++) {
        int W = sizes[si][0], H = sizes[si][1];
        SDL_Surface *surf = SDL_CreateRGBSurfaceWithFormat(0, W, H, 32, SDL_PIXELFORMAT_ARGB8888);
        SDL_Renderer *r = surf ? SDL_CreateSoftwareRenderer(surf) : NULL;
        if (!r) { fprintf(stderr, "%s\n", SDL_GetError()); return 1; }
        for (int projector = 0; projector < 2; projector++) {
            sf_model m;
            if ((e = sf_model_build(&m, &c)).ok)
                e = gpt2 ? sf_tokenizer_load_bpe(&m.tok, SF_ASSET_DIR "/" SF_GPT2_TOKENIZER) : sf_tokenizer_build(&m.tok, alpha, strlen(alpha));
            if (!e.ok) {
                fprintf(stderr, "%s\n", e.msg);
                return 1;
            }
            sf_model_init_random(&m, 1);
            vz_app a;
            vz_run_cfg rc = {1, 1, 0.0f};
            if (!(e = vz_app_init(&a, r, &fp, &m, prompt, &rc)).ok) { fprintf(stderr, "%s\n", e.msg); return 1; }
            if (first) {
                printf("frame, software renderer, gpt %d layers x %d heads, d_model %d, %d tokens, %d frames a run\n",
                       c.n_dec_layers, c.n_heads, c.d_model, a.s.n_tgt, frames);
                first = 0;
            }
            if (bench(&a, r, W, H, projector, frames)) return 1;
            vz_app_free(&a);
        }
        SDL_DestroyRenderer(r);
        SDL_FreeSurface(surf);
    }
    return 0;
}
