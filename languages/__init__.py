"""Interface languages: the reader's choice of language (remembered on the account and in a
cookie), the switcher shown on every page, and data shown in the reader's language (names of
places and organisations, the order of a person's spellings, dates in words)."""
