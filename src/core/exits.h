/* Exit statuses shared by vlsink, vlsink-collect and vlsink-export: the
 * sysexits.h values, so that units can name them in RestartPreventExitStatus=. */
#ifndef VLSINK_EXITS_H
#define VLSINK_EXITS_H

enum {
	EXIT_OK = 0,
	EXIT_USAGE = 64,     /* EX_USAGE */
	EXIT_DATA = 65,      /* EX_DATAERR */
	EXIT_INPUT = 66,     /* EX_NOINPUT */
	EXIT_NOUSER = 67,    /* EX_NOUSER: vlsink's connection user does not exist (vlsink-export, vlsink --user) */
	EXIT_SOFTWARE = 70,  /* EX_SOFTWARE */
	EXIT_CANTCREAT = 73, /* EX_CANTCREAT */
	EXIT_OUTPUT = 74,    /* EX_IOERR: a sink or output failed */
	EXIT_TEMPFAIL = 75,  /* EX_TEMPFAIL: the worker crashed past the restart limit (vlsink) */
	EXIT_NOPERM = 77,    /* EX_NOPERM: the device may not report (vlsink --devices) */
	EXIT_CONFIG = 78,    /* EX_CONFIG: a configuration file is unusable */
};

#endif
