/** Escape sequences of terminals: CSI (colours, cursor moves), OSC (titles, links), and the short ones (reset, charset). */
// eslint-disable-next-line no-control-regex -- matching control characters is what it is for
const ESCAPE_SEQUENCES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[ -/]*[0-~]/g;
/** Control characters but newline and tab: a carriage return redraws a line, a backspace hides what came before. */
// eslint-disable-next-line no-control-regex -- as above
const CONTROL_CHARACTERS = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/**
 * Text a program wrote for a terminal (pip's coloured `ERROR:`, a progress bar), as a person reads it in the Hub's
 * error report or a failure line: no escape sequences, no control characters.
 */
export function plainText(text: string): string {
  return text.replace(ESCAPE_SEQUENCES, '').replace(CONTROL_CHARACTERS, '');
}
