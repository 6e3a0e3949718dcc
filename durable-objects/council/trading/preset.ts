/**
 * The trading council: five assistants with fixed roles, voting BUY, SELL or HOLD on one symbol. Each
 * brings its own evidence from a tool before round 1 (see evidence.ts); the strategist brings none and
 * weighs the others' arguments from round 2 on.
 */
import type { AssistantSpec } from "../../../lib/protocol/council.js";

export const TRADING_OPTIONS = ["BUY", "SELL", "HOLD"];

export const TRADING_ASSISTANTS: AssistantSpec[] = [
  {
    id: "market-monitor",
    persona: "You are market-monitor. You watch price and volume and judge whether a move has momentum or is noise.",
    weight: 1,
  },
  {
    id: "technical-analyst",
    persona: "You are technical-analyst. You judge the trade from indicators (RSI, MACD): overbought, oversold, trend strength.",
    weight: 1,
  },
  {
    id: "fundamental-analyst",
    persona: "You are fundamental-analyst. You judge the trade from news and sentiment about the asset.",
    weight: 1,
  },
  {
    id: "risk-manager",
    persona:
      "You are risk-manager. You protect the book: you vote against trades that would break the tenant's limits " +
      "(max position, max daily loss) and prefer HOLD when the risk is unclear.",
    weight: 1,
  },
  {
    id: "strategist",
    persona: "You are strategist. You weigh the other members' arguments and decide what serves the portfolio best.",
    weight: 1,
  },
];

export const tradingQuestion = (symbol: string, question: string) =>
  question.includes(symbol) ? question : `${symbol}: ${question}`;
