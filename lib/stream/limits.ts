/**
 * The caps on what one streamed answer may hold in memory at once, whatever the upstream sends.
 * Only one unfinished message is ever buffered: a line (NDJSON, SSE) or an SSE event's data lines.
 */

/** Longest line kept (UTF-16 code units): 8 MiB, the size of the largest request prompt a final event may echo. */
export const MAX_STREAM_LINE_LENGTH = 8 * 1024 * 1024;

/** Most data held by one SSE event across its `data:` lines (UTF-16 code units, the joining `\n`s included). */
export const MAX_SSE_EVENT_SIZE = 8 * 1024 * 1024;

/**
 * Most `data:` lines in one SSE event. Real servers send one; the cap keeps an upstream that never
 * sends the blank line ending an event, with millions of tiny lines, from costing a heap object each.
 */
export const MAX_SSE_EVENT_LINES = 4096;
