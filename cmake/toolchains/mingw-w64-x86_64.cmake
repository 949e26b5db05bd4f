# Windows x86-64 with MinGW-w64 GCC (Debian: gcc-mingw-w64-x86-64); run the results with wine64.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER x86_64-w64-mingw32-gcc-posix)
set(CMAKE_RC_COMPILER x86_64-w64-mingw32-windres)
set(CMAKE_FIND_ROOT_PATH /usr/x86_64-w64-mingw32)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
# libgomp-1.dll and libwinpthread-1.dll come from the cross compiler: put their folders on WINEPATH
set(CMAKE_CROSSCOMPILING_EMULATOR /usr/lib/wine/wine64)
