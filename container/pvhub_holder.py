# A results holder's program (src/adapters/results-holder.ts passes it with `<WRAPPER_PYTHON> -I -S -c`): it keeps runs'
# results volumes mounted at /held/<index> and answers the worker's questions about them on stdin, one a line:
#
#     <index> <name> <name> ...
#
# For each name, in order: `E <index> <mode in hex> <size> <name>` (what lstat says: no link is followed), or
# `E <index> missing 0 <name>`; a regular file's line is followed by exactly <size> of its bytes. Then
# `F <index> <free blocks> <free inodes>`, or `F <index> unmeasured`. Then the volume is emptied, so that what a
# collected run wrote stops taking the host's memory. src/adapters/holder-answers.ts reads this.
#
# One process answers every question of the holder's life: the shell's `chmod`, `stat`, `cat` and `find` were seven
# processes per file. It runs on the supervisor's interpreter, which no wheel of the submission can reach, isolated
# from site hooks, and imports nothing the image's packages could shadow. Its run is gone by the time a volume is asked
# about, so nothing but this process changes the volume: the size said is the size sent. A copy that fails ends the
# process (and the holder): what it said next could not be read in step. stdin closes when the worker's attach ends,
# so a holder whose worker is gone ends at once. Runs on Python 3.9+.
import os
import stat
import sys

HELD = b"/held/"
CHUNK = 1024 * 1024
OWNER_ALL = stat.S_IRWXU


def let_owner(path, wanted):
    """Adds `wanted` to the owner's bits: a run may leave what even its owner cannot read, enter or remove."""
    mode = stat.S_IMODE(os.stat(path, follow_symlinks=False).st_mode)
    if mode & wanted != wanted:
        os.chmod(path, mode | wanted)


def send_file(out, path, size):
    let_owner(path, stat.S_IRUSR)
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        left = size
        while left > 0:
            chunk = os.read(fd, min(left, CHUNK))
            if not chunk:
                raise OSError("%r ended before its size" % path)
            out.write(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)


def first_folder_emptying_the_rest(skipped):
    """Removes every entry of the working folder but its folders; returns the first folder not in `skipped`."""
    folder = None
    with os.scandir(".") as listing:
        for entry in listing:
            try:
                if not entry.is_dir(follow_symlinks=False):
                    os.unlink(entry.name)
                elif folder is None and entry.name not in skipped:
                    folder = entry.name
            except OSError:
                pass
    return folder


def empty(volume):
    """
    Removes everything in the volume, however deep: one folder at a time from the working folder, so that neither a
    path's length nor Python's recursion limits it. What cannot be removed is left, and goes with the volume.
    """
    os.chdir(volume)
    entered = []
    skipped = [set()]
    while True:
        folder = first_folder_emptying_the_rest(skipped[-1])
        if folder is not None:
            try:
                let_owner(folder, OWNER_ALL)
                os.chdir(folder)
                entered.append(folder)
                skipped.append(set())
            except OSError:
                skipped[-1].add(folder)
            continue
        if not entered:
            return
        os.chdir(b"..")
        skipped.pop()
        left = entered.pop()
        try:
            os.rmdir(left)
        except OSError:
            skipped[-1].add(left)


def answer(out, index, names):
    volume = HELD + index
    try:
        let_owner(volume, OWNER_ALL)
    except OSError:
        pass
    for name in names:
        path = volume + b"/" + name
        try:
            info = os.lstat(path)
        except OSError:
            out.write(b"E %s missing 0 %s\n" % (index, name))
            continue
        out.write(b"E %s %x %d %s\n" % (index, info.st_mode, info.st_size, name))
        if stat.S_ISREG(info.st_mode):
            send_file(out, path, info.st_size)
    try:
        free = os.statvfs(volume)
        out.write(b"F %s %d %d\n" % (index, free.f_bfree, free.f_ffree))
    except OSError:
        out.write(b"F %s unmeasured\n" % index)
    out.flush()
    try:
        empty(volume)
    except OSError:
        pass
    finally:
        os.chdir(b"/")


def main():
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        words = line.split()
        if words and words[0].isdigit():
            answer(out, words[0], words[1:])


main()
