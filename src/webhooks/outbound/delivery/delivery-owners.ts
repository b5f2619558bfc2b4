/** The owners whose delivery queues this process runs (the shop's on workers, the PSP's on psp). */
export const DELIVERY_OWNERS = Symbol('DELIVERY_OWNERS');
