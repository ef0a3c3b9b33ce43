# Kazakh date formats, which Django does not ship (settings.FORMAT_MODULE_PATH): the numeric day
# form used in Kazakhstan, and "Сәуір 2024 ж." for a month.
DATE_FORMAT = "d.m.Y"
YEAR_MONTH_FORMAT = "F Y ж."
MONTH_DAY_FORMAT = "j F"
SHORT_DATE_FORMAT = "d.m.Y"
DATETIME_FORMAT = "d.m.Y H:i"
SHORT_DATETIME_FORMAT = "d.m.Y H:i"
FIRST_DAY_OF_WEEK = 1  # Monday
DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "\xa0"
NUMBER_GROUPING = 3
