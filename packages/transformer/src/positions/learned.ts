import * as tf from '@tensorflow/tfjs-core';
import { asIs, checkInt, DLArgumentError, type Initializer, Module, normal, type Rng } from '@dl/core';

/**
 * Learned absolute positions (GPT-2's `wpe`, BERT): a table `weight` `[maxLength, dim]`, row p added to the
 * token embedding at position p. Initialised N(0, 1) like `nn.Embedding` unless `init` says otherwise. Cannot go beyond `maxLength`: a longer input throws.
 *
 * @example
 * ```ts
 * import { LearnedPositions } from '@dl/transformer';
 * const pos = new LearnedPositions(64, 16);
 * const rows = pos.forward(10, 3); // positions 3…12: [10, 16]
 * ```
 */
export class LearnedPositions extends Module {
  /** The table `[maxLength, dim]`. */
  readonly weight: tf.Variable;

  /**
   * @param maxLength the number of positions (the longest input).
   * @param dim embedding width.
   */
  constructor(
    readonly maxLength: number,
    readonly dim: number,
    options: { init?: Initializer; rng?: Rng } = {},
  ) {
    super();
    checkInt('LearnedPositions', 'maxLength', maxLength);
    checkInt('LearnedPositions', 'dim', dim);
    this.weight = this.registerParameter('weight', (options.init ?? normal(0, 1))([maxLength, dim], options.rng));
  }

  /**
   * Rows for positions offset … offset + length − 1.
   * @returns `[length, dim]`.
   */
  forward(length: number, offset = 0): tf.Tensor {
    checkInt('LearnedPositions', 'length', length, 0);
    checkInt('LearnedPositions', 'offset', offset, 0);
    if (offset + length > this.maxLength) {
      throw new DLArgumentError('LearnedPositions', 'sequence length', `≤ ${this.maxLength} positions (the model's maxLength)`, asIs(`${offset + length} positions (offset ${offset} + length ${length})`));
    }
    return tf.slice(this.weight, [offset, 0], [length, this.dim]); // [length, dim]
  }
}
