/**
 * A receiver's limits and their defaults (`receiver.ts` exports them).
 *
 * @module
 */

/**
 * How long a connection may send nothing, by default: 30 s. Without an
 * `idleTimeout` of its own, a receiver closes a connection quiet this long
 * only to make room at `maxConns`.
 */
export const DEFAULT_IDLE_TIMEOUT = 30_000;

/** How long a frame may take to arrive once its first byte has, by default: 60 s. */
export const DEFAULT_FRAME_TIMEOUT = 60_000;

/** How many connections a receiver serves at once, by default. */
export const DEFAULT_MAX_CONNS = 1024;

/**
 * How long a receiver that is told to stop keeps reading its open
 * connections, at most: 2 s. A connection that ends or goes quiet for
 * {@linkcode SHUTDOWN_QUIET} is closed sooner.
 */
export const SHUTDOWN_GRACE = 2_000;

/** How long a connection may be quiet during shutdown before it is closed: 0.25 s. */
export const SHUTDOWN_QUIET = 250;

/**
 * The memory a receiver may hold for frames in flight and output not yet
 * written, by default: 512 MiB (or `maxBytes` if larger).
 */
export const DEFAULT_MAX_MEMORY = 512 * 1024 * 1024;
