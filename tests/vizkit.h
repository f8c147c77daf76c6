/* vizkit.h - what the headless visualizer tests share: a small random model and an app drawing into
 * a software surface (SDL_VIDEODRIVER=dummy; no window). */
#ifndef SF_VIZKIT_H
#define SF_VIZKIT_H

#include <SDL.h>
#include <stdint.h>

#include "viz/app.h"

typedef struct {
    SDL_Surface *surf;
    SDL_Renderer *r;
    vz_app app;
    int w, h;
} vk_screen;

/* Builds a random model of the family (d_model 16, 4 heads, d_ff 32, max_len 24, seed 7) with `layers`
 * layers per stack over the alphabet; fails the test if it cannot. */
void vk_model(sf_model *m, int family, const char *alpha, int layers);

/* Opens an app on a w x h software surface over a fresh 2-layer model of the family running `input`
 * (6 new tokens at most, greedy); fails the test if it cannot. */
void vk_open(vk_screen *s, int family, const char *alpha, const char *input, int w, int h);

/* Frees what vk_open made. */
void vk_close(vk_screen *s);

/* Returns the ARGB pixel at (x, y) of the surface, alpha forced opaque. */
uint32_t vk_pixel(const vk_screen *s, int x, int y);

#endif
