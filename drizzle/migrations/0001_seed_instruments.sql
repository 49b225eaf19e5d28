-- Contract specifications of the common CME Group futures (multiplier = currency value of a one-point move).
-- INSERT IGNORE keeps this re-runnable and never overwrites a row an operator has since corrected.
INSERT IGNORE INTO `instruments` (`root`, `asset_class`, `description`, `exchange`, `multiplier`, `tick_size`, `lot_size`) VALUES
	('ES', 'future', 'E-mini S&P 500', 'CME', 50, 0.25, 1),
	('MES', 'future', 'Micro E-mini S&P 500', 'CME', 5, 0.25, 1),
	('NQ', 'future', 'E-mini Nasdaq-100', 'CME', 20, 0.25, 1),
	('MNQ', 'future', 'Micro E-mini Nasdaq-100', 'CME', 2, 0.25, 1),
	('YM', 'future', 'E-mini Dow ($5)', 'CBOT', 5, 1, 1),
	('MYM', 'future', 'Micro E-mini Dow', 'CBOT', 0.5, 1, 1),
	('RTY', 'future', 'E-mini Russell 2000', 'CME', 50, 0.1, 1),
	('CL', 'future', 'Crude Oil (WTI)', 'NYMEX', 1000, 0.01, 1),
	('GC', 'future', 'Gold', 'COMEX', 100, 0.1, 1);
