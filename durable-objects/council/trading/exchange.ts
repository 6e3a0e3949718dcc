/**
 * Where orders go. Only the paper exchange exists: it fills every order at the given price and touches
 * no market. A real exchange adapter implements the same interface later (and must stay idempotent per
 * client order id, since a council's decision may be replayed). The paper broker may also call `place` again
 * for one order, re-sized, when a concurrent order moved the position (or the day's realised loss) before the
 * fill was written (paper.ts); a real adapter would have to reserve the room first instead of filling and comparing.
 */
export interface OrderRequest {
  clientOrderId: string;
  symbol: string;
  side: "BUY" | "SELL";
  qty: number;
  /** The reference price; the paper exchange fills exactly here. */
  price: number;
}

export interface Fill {
  qty: number;
  price: number;
}

export interface ExchangeAdapter {
  readonly name: string;
  place(order: OrderRequest): Promise<Fill>;
}

export const paperExchange: ExchangeAdapter = {
  name: "paper",
  async place(order) {
    return { qty: order.qty, price: order.price };
  },
};
