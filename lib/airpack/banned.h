/* banned.h - functions airpack code must not call.  Included last by every
 * .c file in lib/, packager/ and installer/; using one is a compile error. */
#ifndef AP_BANNED_H
#define AP_BANNED_H

#define AP_BANNED(func) sorry_##func##_is_banned_in_airpack

#undef strcpy
#define strcpy(a, b) AP_BANNED(strcpy)
#undef strcat
#define strcat(a, b) AP_BANNED(strcat)
#undef strncpy
#define strncpy(a, b, n) AP_BANNED(strncpy)
#undef sprintf
#define sprintf(...) AP_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) AP_BANNED(vsprintf)
#undef strtok
#define strtok(a, b) AP_BANNED(strtok)
#undef atoi
#define atoi(a) AP_BANNED(atoi)
#undef atol
#define atol(a) AP_BANNED(atol)
#undef gets
#define gets(a) AP_BANNED(gets)

#endif
