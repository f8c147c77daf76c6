/* gui.h - the window owner: opens an SDL window, runs the event loop of the app (`gui`) or of the lesson
 * player (lessons and the index), applies full-screen requests, and closes it. */
#ifndef SF_GUI_H
#define SF_GUI_H

#if defined(HAVE_SF_VIZ) && defined(HAVE_SF_LESSON)
/* Opens the lesson window on file (or, when file is NULL, on the index of dir) and runs it until closed;
 * returns the exit status, or -1 (having printed nothing) when there is no display to open a window on. */
int gui_lessons(const char *file, const char *dir, int lang, const char *font, int w, int h, float zoom);
#endif

#endif
