/** 128 + the signal's number: the exit status a shell reports for a command stopped by that signal. */
export const SIGNAL_EXIT: Readonly<Record<string, number>> = { SIGINT: 130, SIGTERM: 143 };
