"""The console's pure rules: the words on the screen (zh-CN first, English beside), and how
figures are written (money in yuan from fen, dates, counts, pace)."""
