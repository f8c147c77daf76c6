/* vizkit.c - the shared set-up of the headless visualizer tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "vizkit.h"

void vk_model(sf_model *m, int family, const char *alpha, int layers) {
    sf_config c = sf_config_default(family);
    c.vocab_size = 4 + (int)strlen(alpha);
    c.d_model = 16;
    c.n_heads = 4;
    c.d_ff = 32;
    c.max_len = 24;
    c.n_dec_layers = layers;
    if (family == SF_FAMILY_ENCDEC) c.n_enc_layers = layers;
    assert_true(sf_model_build(m, &c).ok);
    assert_true(sf_tokenizer_build(&m->tok, alpha, strlen(alpha)).ok);
    sf_model_init_random(m, 7);
}

void vk_open(vk_screen *s, int family, const char *alpha, const char *input, int w, int h) {
    s->w = w;
    s->h = h;
    s->surf = SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_ARGB8888);
    assert_non_null(s->surf);
    s->r = SDL_CreateSoftwareRenderer(s->surf);
    assert_non_null(s->r);
    vz_font_paths fp;
    sf_err e = vz_font_find(NULL, &fp);
    if (!e.ok) fail_msg("%s", e.msg);
    sf_model m;
    vk_model(&m, family, alpha, 2);
    vz_run_cfg rc = {6, 1, 0.0f};
    e = vz_app_init(&s->app, s->r, &fp, &m, input, &rc);
    if (!e.ok) fail_msg("%s", e.msg);
}

void vk_close(vk_screen *s) {
    vz_app_free(&s->app);
    SDL_DestroyRenderer(s->r);
    SDL_FreeSurface(s->surf);
}

uint32_t vk_pixel(const vk_screen *s, int x, int y) {
    return ((const uint32_t *)((const uint8_t *)s->surf->pixels + (size_t)y * s->surf->pitch))[x] | 0xff000000u;
}
