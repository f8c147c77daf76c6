/* help.h - the `?` overlay: every key of a mode from the key table (keys.h), in large text and columns. */
#ifndef VZ_HELP_H
#define VZ_HELP_H

#include "draw.h"
#include "keys.h"

/* Draws the help overlay of mode over the whole of c's last layout, in c->lang. */
void vz_help_draw(vz_ctx *c, vz_mode mode);

/* Computes the overlay's layout for mode over a w x h window in c->lang: the text size in *px and the
 * number of columns in *cols; returns 1 if every line fits. */
int vz_help_layout(vz_ctx *c, vz_mode mode, int w, int h, int *px, int *cols);

#endif
