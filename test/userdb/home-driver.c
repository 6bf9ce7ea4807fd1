/* home-driver.c - runs gl_home_ensure once (test/userdb/home.test.ts):
 *   home-driver ROOT NAME UID GID  ->  "<rc> <message>" */
#include <stdio.h>
#include <stdlib.h>

#include "gl_home.h"

int main(int argc, char **argv)
{
	if (argc != 5)
		return 2;
	char err[512] = "";
	int rc = gl_home_ensure(argv[1], argv[2], (uid_t)strtoul(argv[3], NULL, 10), (gid_t)strtoul(argv[4], NULL, 10), err, sizeof(err));
	printf("%d %s\n", rc, err);
	return 0;
}
