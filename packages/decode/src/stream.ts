import { checkInt, DLArgumentError } from '@dl/core';
import type { TokenEvent } from './types.js';

/** An async iterator of tokens that also gives the decoder's final result. */
export interface TokenStream<R> extends AsyncIterableIterator<TokenEvent> {
  /** The decoder's result once it finished (rejects if it failed). */
  readonly result: Promise<R>;
}

/**
 * Streams a decoder's tokens as they are decided: pass it a function that starts the decoder with the
 * given `onToken` callback (and, ideally, the `signal`, which aborts when the consumer stops iterating
 * early). Greedy and sampling decide a token per row per step; beam search emits a token once every
 * candidate agrees on it. The decoder pauses when more than `highWaterMark` tokens wait unread.
 *
 * @param start starts the decoding: `(onToken, signal) => greedy(step, ids, { onToken, signal })`.
 * @param highWaterMark tokens buffered before the decoder waits, a positive integer. Default 64.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { greedy, streamTokens, type StepFn } from '@dl/decode';
 * const step: StepFn<null> = (tokens) => ({ logits: tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d([tokens[0].length % 5], 'int32'), 5), 'float32')), state: null });
 * const stream = streamTokens((onToken, signal) => greedy(step, [[0]], { maxNewTokens: 4, onToken, signal }));
 * for await (const e of stream) console.log(e.token);
 * const result = await stream.result;
 * ```
 */
export function streamTokens<R>(start: (onToken: (e: TokenEvent) => Promise<void>, signal: AbortSignal) => Promise<R>, highWaterMark = 64): TokenStream<R> {
  if (typeof start !== 'function') throw new DLArgumentError('streamTokens', 'start', 'a function (onToken, signal) => Promise', start);
  checkInt('streamTokens', 'highWaterMark', highWaterMark);
  const queue: TokenEvent[] = [];
  const controller = new AbortController();
  let finished = false;
  let failure: { error: unknown } | null = null;
  let wakeConsumer: (() => void) | null = null;
  let wakeProducer: (() => void) | null = null;
  const onToken = async (e: TokenEvent) => {
    queue.push(e);
    wakeConsumer?.();
    if (queue.length >= highWaterMark && !controller.signal.aborted) await new Promise<void>((resolve) => (wakeProducer = resolve));
  };
  const result = Promise.resolve()
    .then(() => start(onToken, controller.signal))
    .then(
      (r) => {
        finished = true;
        wakeConsumer?.();
        return r;
      },
      (error: unknown) => {
        finished = true;
        failure = { error };
        wakeConsumer?.();
        throw error;
      },
    );
  result.catch(() => undefined); // the error reaches the iterator and whoever awaits `result`
  const iterator: TokenStream<R> = {
    result,
    async next(): Promise<IteratorResult<TokenEvent>> {
      for (;;) {
        if (queue.length) {
          const value = queue.shift()!;
          if (queue.length < highWaterMark) {
            const w = wakeProducer;
            wakeProducer = null;
            w?.();
          }
          return { value, done: false };
        }
        if (failure) throw (failure as { error: unknown }).error;
        if (finished) return { value: undefined, done: true };
        await new Promise<void>((resolve) => (wakeConsumer = resolve));
        wakeConsumer = null;
      }
    },
    async return(): Promise<IteratorResult<TokenEvent>> {
      controller.abort();
      const w = wakeProducer;
      wakeProducer = null;
      w?.();
      queue.length = 0;
      await result.catch(() => undefined);
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
