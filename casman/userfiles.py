"""Files a user names on the command line: inputs read only if plausible, outputs replaced
only if they are regular files.

Every command that reads a user-named input (``database load-snap-boards --csv``,
``database load-coordinates --csv``, ``antenna plot --csv``) or writes a user-named output
(``antenna generate-coordinates``, ``snap generate-csv``, ``antenna plot --output``) goes
through this one module, so one set of checks guards them all:

- ``--csv /dev/zero`` must not read until memory runs out, and a FIFO must not hang the
  command: the type and size are checked with ``stat`` *before* anything is read, and the
  read itself is capped, so a file that grows meanwhile cannot get past the limit either.
- ``--output /dev/sda --force`` run as root must not replace a device node with a PNG:
  only a regular file (or a symbolic link to one) is ever replaced, ``--force`` or not.
- A failed write leaves neither a half-written output nor a stray temp file.

Like the rest of the engine this prints nothing and knows no click; it raises
:class:`~casman.errors.CasmanError` with the one line the CLI shows.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from casman.errors import CasmanError
from casman.fileio import fsync_directory

MAX_INPUT_BYTES = 50 * 1024 * 1024
"""The deployment CSVs are a few KB; 50 MB is far above any real one and far below memory."""


def kind_of(mode: int) -> str:
    """What a ``stat`` mode is, in words a user recognises ("FIFO", "character device")."""
    kinds = (
        (stat.S_ISREG, "regular file"),
        (stat.S_ISDIR, "directory"),
        (stat.S_ISFIFO, "FIFO (named pipe)"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISSOCK, "socket"),
    )
    for test, name in kinds:
        if test(mode):
            return name
    return "special file"


def _size_text(size: int) -> str:
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{size} bytes"


def read_input_text(
    path: Path,
    *,
    what: str = "CSV file",
    option: str = "--csv",
    limit: int = MAX_INPUT_BYTES,
) -> str:
    """The whole text of a user-named input file, refused before reading if implausible.

    ``stat`` first, so a device or FIFO is never even opened (opening a FIFO blocks until a
    writer appears; opening some devices has side effects). The file is then opened
    non-blocking and checked again through its descriptor, which closes the race of the
    name being swapped for something else between the two steps, and at most ``limit + 1``
    bytes are read.
    """
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise CasmanError(
            f"{what} {path} does not exist; give the right path with {option}"
        ) from None
    except PermissionError:
        raise CasmanError(
            f"cannot read {what} {path}: permission denied; check its permissions"
        ) from None
    except OSError as error:
        raise CasmanError(f"cannot read {what} {path}: {error.strerror or error}") from None
    _check_input(path, info, what, option, limit)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
        with os.fdopen(fd, "rb") as handle:
            _check_input(path, os.fstat(handle.fileno()), what, option, limit)
            data = handle.read(limit + 1)
    except PermissionError:
        raise CasmanError(
            f"cannot read {what} {path}: permission denied; check its permissions"
        ) from None
    except OSError as error:
        raise CasmanError(f"cannot read {what} {path}: {error.strerror or error}") from None
    if len(data) > limit:
        raise _too_large(path, len(data), what, option, limit)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise CasmanError(
            f"{what} {path} line {line} is not UTF-8 text; save the file as UTF-8 "
            '("CSV UTF-8" in a spreadsheet)'
        ) from None


def _check_input(path: Path, info: os.stat_result, what: str, option: str, limit: int) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise CasmanError(
            f"{path} is a {kind_of(info.st_mode)}, not a regular file; "
            f"give the path of a {what} with {option}"
        )
    if info.st_size > limit:
        raise _too_large(path, info.st_size, what, option, limit)


def _too_large(path: Path, size: int, what: str, option: str, limit: int) -> CasmanError:
    return CasmanError(
        f"{path} is {_size_text(size)}, more than the {_size_text(limit)} a {what} may have; "
        f"check that {option} names the right file"
    )


def output_target(path: Path, *, force: bool, option: str = "--output") -> Path:
    """The file to write for ``path``, or a clear refusal.

    Only a regular file is ever replaced: a device, FIFO, socket or directory, or a
    symbolic link to one, is refused whether or not ``force`` is given (replacing
    ``/dev/null`` with a CSV as root breaks the machine). A symbolic link to a regular
    file is followed, so ``--force`` overwrites the file the link names and keeps the
    link, as ``cp`` would. A dangling link is refused: where it would lead is a guess.
    """
    is_link = os.path.islink(path)
    try:
        info = os.stat(path)  # follows links: the type of what would be replaced
    except FileNotFoundError:
        if is_link:
            raise CasmanError(
                f"{path} is a symbolic link to {os.readlink(path)}, which does not exist; "
                f"remove the link or choose another {option}"
            ) from None
        return path
    except NotADirectoryError:
        raise CasmanError(
            f"cannot write {path}: {path.parent} is not a folder; choose another {option}"
        ) from None
    except OSError as error:
        raise CasmanError(f"cannot write {path}: {error.strerror or error}") from None
    if not stat.S_ISREG(info.st_mode):
        via = f" (through the symbolic link {path})" if is_link else ""
        shown = Path(os.path.realpath(path)) if is_link else path
        raise CasmanError(
            f"{shown}{via} is a {kind_of(info.st_mode)}, not a regular file; casman only "
            f"replaces regular files, even with --force; choose another {option}"
        )
    if not force:
        raise CasmanError(f"{path} already exists; use --force to overwrite it")
    return Path(os.path.realpath(path)) if is_link else path


def write_output(path: Path, content: str | bytes, *, force: bool) -> None:
    """Write a whole file or nothing: temp file in the same folder, fsync, then rename.

    Without ``force`` the final step is a hard link, which fails atomically if the name was
    taken meanwhile, so an existing file is never clobbered by accident. The temp file is
    removed whatever happens (error, Ctrl-C), so a failed write leaves nothing behind.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    target = output_target(path, force=force)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise CasmanError(f"cannot write {path}: folder {folder} does not exist")
    try:
        fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as error:
        raise CasmanError(f"cannot write {path}: {error.strerror or error}") from None
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.chmod(temp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if force:
            # Checked again just before the rename, so a special file put there while the
            # data was being written is still not replaced.
            output_target(target, force=True)
            os.replace(temp, target)
        else:
            try:
                os.link(temp, target)
            except FileExistsError:
                raise CasmanError(f"{path} already exists; use --force to overwrite it") from None
            except OSError:  # no hard links on this filesystem
                output_target(target, force=False)
                os.replace(temp, target)
        fsync_directory(folder)
    except OSError as error:
        raise CasmanError(f"cannot write {path}: {error.strerror or error}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current
