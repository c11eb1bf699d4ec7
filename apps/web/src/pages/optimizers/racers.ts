/** The optimizers that race, all from @dl/optim with PyTorch's defaults except the learning rate. */
import type * as tf from '@tensorflow/tfjs-core';
import { Adadelta, Adagrad, Adam, Adamax, AdamW, Lamb, Lion, NAdam, RAdam, RMSprop, SGD, type Optimizer } from '@dl/optim';

export interface Racer {
  id: string;
  label: string;
  make(params: tf.Variable[], lr: number): Optimizer<object>;
}

export const RACERS: Racer[] = [
  { id: 'sgd', label: 'SGD', make: (p, lr) => new SGD(p, { lr }) },
  { id: 'momentum', label: 'momentum 0.9', make: (p, lr) => new SGD(p, { lr, momentum: 0.9 }) },
  { id: 'nesterov', label: 'Nesterov 0.9', make: (p, lr) => new SGD(p, { lr, momentum: 0.9, nesterov: true }) },
  { id: 'adagrad', label: 'AdaGrad', make: (p, lr) => new Adagrad(p, { lr }) },
  { id: 'rmsprop', label: 'RMSProp', make: (p, lr) => new RMSprop(p, { lr }) },
  { id: 'adadelta', label: 'Adadelta', make: (p, lr) => new Adadelta(p, { lr }) },
  { id: 'adam', label: 'Adam', make: (p, lr) => new Adam(p, { lr }) },
  { id: 'adamw', label: 'AdamW', make: (p, lr) => new AdamW(p, { lr }) },
  { id: 'adamax', label: 'Adamax', make: (p, lr) => new Adamax(p, { lr }) },
  { id: 'nadam', label: 'NAdam', make: (p, lr) => new NAdam(p, { lr }) },
  { id: 'radam', label: 'RAdam', make: (p, lr) => new RAdam(p, { lr }) },
  { id: 'lion', label: 'Lion', make: (p, lr) => new Lion(p, { lr }) },
  { id: 'lamb', label: 'LAMB', make: (p, lr) => new Lamb(p, { lr }) },
];
