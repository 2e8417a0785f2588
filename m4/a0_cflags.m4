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
