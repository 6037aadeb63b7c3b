// dlopen wrappers for Swift (RTLD_NOW | RTLD_LOCAL; Glibc's module map varies by toolchain).
#include "CCUDA.h"
#include <dlfcn.h>

void *uninlu_dlopen(const char *path) { return dlopen(path, RTLD_NOW | RTLD_LOCAL); }
void *uninlu_dlsym(void *library, const char *name) { return dlsym(library, name); }
const char *uninlu_dlerror(void) { return dlerror(); }
