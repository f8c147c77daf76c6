/* index.h - the lesson index: the page `stepformer` opens with no arguments. One card per lesson with its
 * number, title, one-line introduction (English or Chinese, `l` switches) and thumbnail
 * (lessons/thumbs/NN.png, loaded with SDL2_image), laid out in a grid that fills the window. The keys are
 * the key table's index mode (keys.h): PageDown / PageUp (→ ← ↓ ↑ Space Backspace) choose, Enter or a
 * click opens, F5 opens full screen; the lesson that was open resumes where it was. */
#ifndef VZ_INDEX_H
#define VZ_INDEX_H

#include <SDL2/SDL.h>

#include "layout.h"
#include "lesson/lesson.h"

#define VZ_INDEX_MAX 64 /* most lessons the index lists */

typedef struct {
    char path[1024];
    int number;                     /* from the file name (06-...), or 0 */
    char title[SF_LANG_COUNT][160]; /* "" when the lesson has none in that language */
    char intro[SF_LANG_COUNT][480]; /* the introduction on one line ("" if none) */
    int n_steps;
    char error[256];                /* why it could not be read, or "" */
    SDL_Texture *thumb;             /* thumbs/NN.png beside the lesson, or NULL */
    int thumb_w, thumb_h;
} vz_index_entry;

/* Where the index drew entry i last frame (tests read these). */
typedef struct {
    vz_rect card, thumb, intro;
} vz_index_card;

struct vz_player;

/* Lists the lessons of dir into entries (sorted by file name; titles, introductions and step counts read
 * without running models; no thumbnails); returns how many (at most max), or -1 if dir cannot be read. */
int vz_lessons_list(const char *dir, vz_index_entry *entries, int max);

/* Returns the number a lesson's file name starts with ("lessons/06-x.md" -> 6), or 0. */
int vz_lesson_number(const char *path);

/* Writes the path of the lesson next to `path` in its folder (dir = +1 the next, -1 the previous, in file
 * name order) into out; returns 0 if there is none. */
int vz_lessons_neighbour(const char *path, int dir, char *out, size_t size);

/* Loads the thumbnail of each entry that has one (thumbs/NN.png in dir) as a texture of r. */
void vz_index_load_thumbs(vz_index_entry *entries, int n, const char *dir, SDL_Renderer *r);
/* Destroys the entries' thumbnail textures. */
void vz_index_free_thumbs(vz_index_entry *entries, int n);

/* Handles an event on the index page of player p; returns 1 if it changed anything. */
int vz_index_event(struct vz_player *p, const SDL_Event *e);

/* Draws the index page of player p into a w x h target (black when blanked, the help overlay when asked). */
void vz_index_frame(struct vz_player *p, int w, int h);

#endif
