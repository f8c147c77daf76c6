/* theme.c - the themes and palettes. */
#include "theme.h"

#include <string.h>

static const vz_theme themes[VZ_THEME_COUNT] = {
    [VZ_THEME_DARK] = {
        .name = "dark",
        .bg = {18, 20, 26, 255}, .panel = {30, 33, 42, 255}, .bar = {24, 27, 36, 255}, .edge = {62, 68, 84, 255},
        .fg = {226, 230, 238, 255}, .dim = {150, 158, 175, 255}, .accent = {255, 196, 61, 255},
        .focus = {110, 190, 255, 255}, .hilite = {255, 92, 160, 255}, .wrong = {255, 255, 255, 255},
        .good = {96, 210, 120, 255}, .box = {40, 45, 58, 255}, .box_lit = {92, 72, 20, 255},
        .tok_seen = {44, 50, 66, 255}, .tok_gen = {46, 64, 52, 255}, .plot = {22, 24, 31, 255},
        .tip = {10, 10, 14, 240}, .shade = {0, 0, 0, 150}, .ink_on_light = {20, 20, 20, 255},
        .ink_on_dark = {240, 240, 240, 255}, .dot = {255, 255, 255, 255}, .dot_ring = {0, 0, 0, 255},
        .curve = {{230, 159, 0, 255}, {86, 180, 233, 255}, {0, 158, 115, 255}, {204, 121, 167, 255}},
        .hidden = {28, 30, 36, 255}, .masked = {96, 96, 100, 255}, .hatch = {150, 150, 156, 255},
    },
    /* for bright rooms: dark ink on near-white, every accent darkened until it reads on white */
    [VZ_THEME_LIGHT] = {
        .name = "light",
        .bg = {236, 238, 242, 255}, .panel = {252, 252, 253, 255}, .bar = {222, 226, 234, 255}, .edge = {150, 156, 170, 255},
        .fg = {16, 18, 24, 255}, .dim = {70, 76, 90, 255}, .accent = {176, 92, 0, 255},
        .focus = {0, 92, 190, 255}, .hilite = {200, 0, 110, 255}, .wrong = {0, 0, 0, 255},
        .good = {0, 128, 50, 255}, .box = {232, 235, 242, 255}, .box_lit = {255, 214, 130, 255},
        .tok_seen = {214, 222, 240, 255}, .tok_gen = {206, 236, 212, 255}, .plot = {244, 245, 248, 255},
        .tip = {255, 255, 255, 245}, .shade = {255, 255, 255, 170}, .ink_on_light = {20, 20, 20, 255},
        .ink_on_dark = {245, 245, 245, 255}, .dot = {255, 255, 255, 255}, .dot_ring = {0, 0, 0, 255},
        .curve = {{200, 120, 0, 255}, {0, 114, 178, 255}, {0, 130, 90, 255}, {180, 80, 140, 255}},
        .hidden = {214, 217, 224, 255}, .masked = {150, 150, 156, 255}, .hatch = {96, 96, 102, 255},
    },
};

static const vz_palette palettes[VZ_PAL_COUNT] = {
    [VZ_PAL_VIRIDIS] = {"viridis", VZ_CMAP_VIRIDIS, VZ_CMAP_DIVERGING},
    [VZ_PAL_CIVIDIS] = {"cividis", VZ_CMAP_CIVIDIS, VZ_CMAP_BLUE_ORANGE},
    [VZ_PAL_BLUE_ORANGE] = {"blue-orange", VZ_CMAP_VIRIDIS, VZ_CMAP_BLUE_ORANGE},
};

const vz_theme *vz_theme_get(int id) { return &themes[id >= 0 && id < VZ_THEME_COUNT ? id : 0]; }

int vz_theme_parse(const char *name) {
    for (int i = 0; i < VZ_THEME_COUNT; i++)
        if (name && !strcmp(name, themes[i].name)) return i;
    return -1;
}

const vz_palette *vz_palette_get(int id) { return &palettes[id >= 0 && id < VZ_PAL_COUNT ? id : 0]; }

int vz_palette_parse(const char *name) {
    for (int i = 0; i < VZ_PAL_COUNT; i++)
        if (name && !strcmp(name, palettes[i].name)) return i;
    return -1;
}
