"""Where findings go: events, formats, spools and the transports behind them."""
