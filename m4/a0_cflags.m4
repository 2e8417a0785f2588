# A0_CHECK_CFLAG(FLAG, ACTION-IF-OK, ACTION-IF-NOT)
# Does the C compiler accept FLAG (with warnings as errors, so an ignored flag counts as no)?
AC_DEFUN([A0_CHECK_CFLAG], [
	AC_MSG_CHECKING([whether $CC accepts $1])
	a0_save_CFLAGS="$CFLAGS"
	CFLAGS="$CFLAGS -Werror $1"
	AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])],
		[AC_MSG_RESULT([yes]); $2], [AC_MSG_RESULT([no]); $3])
	CFLAGS="$a0_save_CFLAGS"
])

# A0_CHECK_LDFLAG(FLAG, ACTION-IF-OK, ACTION-IF-NOT)
# Does the compiler driver link a program with FLAG?
AC_DEFUN([A0_CHECK_LDFLAG], [
	AC_MSG_CHECKING([whether $CC links with $1])
	a0_save_LDFLAGS="$LDFLAGS"
	LDFLAGS="$LDFLAGS $1"
	AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])],
		[AC_MSG_RESULT([yes]); $2], [AC_MSG_RESULT([no]); $3])
	LDFLAGS="$a0_save_LDFLAGS"
])

# A0_CHECK_FORTIFY(LEVEL, ACTION-IF-OK, ACTION-IF-NOT)
# Would -D_FORTIFY_SOURCE=LEVEL take effect with CFLAGS and CPPFLAGS as they are? Not when
# something defines it already (the redefinition warns: a packager's choice stands), nor
# without optimisation (glibc ignores it then, some versions with a warning); warnings count
# as no.
AC_DEFUN([A0_CHECK_FORTIFY], [
	AC_MSG_CHECKING([whether to build with -D_FORTIFY_SOURCE=$1])
	a0_save_CFLAGS="$CFLAGS"
	CFLAGS="$CFLAGS -Werror -D_FORTIFY_SOURCE=$1"
	AC_COMPILE_IFELSE([AC_LANG_PROGRAM([[#include <stdio.h>
#ifndef __OPTIMIZE__
#error not optimising
#endif]],
		[[char b[8]; return snprintf(b, sizeof(b), "%d", 1) < 0;]])],
		[AC_MSG_RESULT([yes]); $2], [AC_MSG_RESULT([no]); $3])
	CFLAGS="$a0_save_CFLAGS"
])
