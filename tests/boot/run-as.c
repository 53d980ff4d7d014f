/* run-as UID GID CMD [ARG...] - runs CMD as that user with no
 * supplementary groups (busybox's setpriv cannot change uids). */
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	if (setgroups(0, NULL) < 0 || setgid((gid_t)atoi(argv[2])) < 0 || setuid((uid_t)atoi(argv[1])) < 0) {
		perror("run-as");
		return 2;
	}
	execvp(argv[3], argv + 3);
	perror(argv[3]);
	return 127;
}
