// cflags: -O2 -shared -fPIC
// ship_badlib: a preload library that loads, but misbehaves: its
// constructor writes a stray line on the program's stdout. `sockfix preload
// enable --library` must refuse it after the trial load
// (c-tests/ship/t_ship_preload.sh). Built as a shared object by the harness.
#include <unistd.h>

__attribute__((constructor)) static void stray_output(void) {
    static const char msg[] = "stray bytes from a broken preload library\n";
    ssize_t n = write(1, msg, sizeof msg - 1);
    (void)n;
}
