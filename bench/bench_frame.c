/* bench_frame.c - how long the whole interface takes to draw one frame at 1920x1080 with the software
 * renderer, for a decoder-only model of 4 layers x 4 heads on 32 tokens. Three runs:
 *   stepping: the cursor moves one step each frame (heatmaps re-upload, new rows appear);
 *   hover:    the cursor stays, the mouse moves over the attention heatmaps (the tooltip changes);
 *   baseline: clearing and filling the 1920x1080 target once, the floor any frame pays.
 * Usage: bench_frame [frames] [gpt2]   prints median and p99 in milliseconds for each, and ratios to the baseline.
 * With `gpt2` the model is GPT-2 small's shape instead (12 layers x 12 heads, d_model 768, the 50257-token
 * BPE, random weights) on a 32-token prompt and generation, drawn as the window draws any model today. */
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

/* Prints the median and p99 of t(n) and the median's ratio to base. */
static void report(const char *what, double *t, int n, double base) {
    double med = percentile(t, n, 0.5), p99 = percentile(t, n, 0.99);
    printf("  %-9s median %6.2f ms   p99 %6.2f ms", what, med, p99);
    if (base > 0) printf("   (%.1fx baseline)", med / base);
    printf("\n");
}

int main(int argc, char **argv) {
    int frames = argc > 1 ? atoi(argv[1]) : 300;
    if (frames < 10) frames = 10;
    int gpt2 = argc > 2 && !strcmp(argv[2], "gpt2");
    const int W = 1920, H = 1080;
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyz";
    sf_config c = sf_config_default(SF_FAMILY_GPT);
    c.vocab_size = 4 + (int)strlen(alpha); c.d_model = 64; c.n_heads = 4; c.d_ff = 256; c.n_dec_layers = 4; c.max_len = 64;
    if (gpt2) { c.vocab_size = 50257; c.d_model = 768; c.n_heads = 12; c.d_ff = 3072; c.n_dec_layers = 12; c.max_len = 1024; }
    sf_model m;
    sf_err e = sf_model_build(&m, &c);
    if (e.ok && gpt2) e = sf_tokenizer_load_bpe(&m.tok, SF_ASSET_DIR "/" SF_GPT2_TOKENIZER);
    else if (e.ok) e = sf_tokenizer_build(&m.tok, alpha, strlen(alpha));
    if (!e.ok) { fprintf(stderr, "%s\n", e.msg); return 1; }
    sf_model_init_random(&m, 1);
    SDL_Surface *surf = SDL_CreateRGBSurfaceWithFormat(0, W, H, 32, SDL_PIXELFORMAT_ARGB8888);
    SDL_Renderer *r = surf ? SDL_CreateSoftwareRenderer(surf) : NULL;
    if (!r) { fprintf(stderr, "%s\n", SDL_GetError()); return 1; }
    vz_font_paths fp;
    if (!(e = vz_font_find(NULL, &fp)).ok) { fprintf(stderr, "%s\n", e.msg); return 1; }
    vz_app a;
    /* <bos> + 30 prompt characters + 1 generated = 32 decoder tokens */
    vz_run_cfg rc = {1, 1, 0.0f};
    /* GPT-2: <|endoftext|> + 30 prompt tokens + 1 generated = 32 as well */
    const char *prompt = gpt2 ? "The quick brown fox jumps over the lazy dog, and then the dog wakes up and chases the fox all the way into the dark green woods."
                              : "thequickbrownfoxjumpsoverthela";
    if (!(e = vz_app_init(&a, r, &fp, &m, prompt, &rc)).ok) { fprintf(stderr, "%s\n", e.msg); return 1; }
    double *t = malloc(sizeof(double) * (size_t)frames);
    if (!t) return 1;
    /* stepping through the last tokens, where every heatmap is fullest */
    int start = a.sched.n - frames > 0 ? a.sched.n - frames : 0;
    vz_app_goto(&a, start);
    vz_app_frame(&a, W, H); /* warm the caches: fonts opened, first textures made */
    int n = 0;
    for (int i = 0; i < frames; i++) {
        SDL_Event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = SDL_KEYDOWN;
        ev.key.keysym.sym = SDLK_RIGHT;
        double t0 = now_ms();
        vz_app_event(&a, &ev);
        vz_app_frame(&a, W, H);
        SDL_RenderPresent(r);
        t[n++] = now_ms() - t0;
        if (a.v.step == a.sched.n - 1) vz_app_goto(&a, start);
    }
    double *hv = malloc(sizeof(double) * (size_t)frames), *bs = malloc(sizeof(double) * (size_t)frames);
    if (!hv || !bs) return 1;
    vz_app_goto(&a, a.sched.n - 1);
    vz_rect ar = a.ctx.lay.r[VZ_P_ATTN];
    for (int i = 0; i < frames; i++) {
        SDL_Event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = SDL_MOUSEMOTION;
        ev.motion.x = ar.x + (i * 37) % (ar.w > 1 ? ar.w : 1);
        ev.motion.y = ar.y + (i * 23) % (ar.h > 1 ? ar.h : 1);
        double t0 = now_ms();
        vz_app_event(&a, &ev);
        vz_app_frame(&a, W, H);
        SDL_RenderPresent(r);
        hv[i] = now_ms() - t0;
    }
    for (int i = 0; i < frames; i++) {
        double t0 = now_ms();
        SDL_SetRenderDrawColor(r, 18, 20, 26, 255);
        SDL_RenderClear(r);
        SDL_SetRenderDrawColor(r, 30, 33, 42, 255);
        SDL_RenderFillRect(r, NULL);
        SDL_RenderPresent(r);
        bs[i] = now_ms() - t0;
    }
    double base = percentile(bs, frames, 0.5);
    printf("frame, %dx%d software renderer, gpt %d layers x %d heads, d_model %d, %d tokens, %d frames\n", W, H,
           c.n_dec_layers, c.n_heads, c.d_model, a.s.n_tgt, frames);
    report("stepping", t, frames, base);
    report("hover", hv, frames, base);
    report("baseline", bs, frames, 0);
    printf("  goal: median <= 4 ms, p99 <= 8 ms (stepping)\n");
    free(t); free(hv); free(bs);
    vz_app_free(&a);
    SDL_DestroyRenderer(r);
    SDL_FreeSurface(surf);
    return 0;
}
