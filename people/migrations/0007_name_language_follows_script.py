"""A name's language and kind are no longer Kazakh / native spelling by default: left empty,
they follow the script (PersonName.clean/save), and a Latin spelling must say its language.
Defaults and help texts only: no column changes (PostgreSQL runs nothing; SQLite rebuilds the
tables with the same columns), so the history tables and their audit chain are unaffected."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0006_encrypted_kinds_and_reasons"),
    ]

    operations = [
        migrations.AlterField(
            model_name="historicalpersonname",
            name="kind",
            field=models.CharField(
                blank=True,
                choices=[
                    ("native", "Native spelling"),
                    ("transliteration", "Transliteration"),
                    ("official_chinese", "Official Chinese name"),
                    ("alias", "Alias or nickname"),
                    ("former", "Former name"),
                ],
                help_text="Left empty, it follows the script, as in imports: Chinese characters are the official Chinese name, Latin a transliteration, Cyrillic and Arabic script the native spelling.",
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="historicalpersonname",
            name="language",
            field=models.CharField(
                blank=True,
                choices=[
                    ("kk", "Kazakh"),
                    ("ug", "Uyghur"),
                    ("zh", "Chinese"),
                    ("ru", "Russian"),
                    ("en", "English"),
                    ("ky", "Kyrgyz"),
                    ("uz", "Uzbek"),
                    ("mn", "Mongolian"),
                    ("tr", "Turkish"),
                    ("und", "Undetermined"),
                ],
                help_text="Language the name is given in. Left empty, it follows the script: Cyrillic and Arabic script are taken as Kazakh, Chinese characters as Chinese. A Latin spelling must say its language (Kazakh, Russian, English, pinyin…).",
                max_length=8,
            ),
        ),
        migrations.AlterField(
            model_name="personname",
            name="kind",
            field=models.CharField(
                blank=True,
                choices=[
                    ("native", "Native spelling"),
                    ("transliteration", "Transliteration"),
                    ("official_chinese", "Official Chinese name"),
                    ("alias", "Alias or nickname"),
                    ("former", "Former name"),
                ],
                help_text="Left empty, it follows the script, as in imports: Chinese characters are the official Chinese name, Latin a transliteration, Cyrillic and Arabic script the native spelling.",
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="personname",
            name="language",
            field=models.CharField(
                blank=True,
                choices=[
                    ("kk", "Kazakh"),
                    ("ug", "Uyghur"),
                    ("zh", "Chinese"),
                    ("ru", "Russian"),
                    ("en", "English"),
                    ("ky", "Kyrgyz"),
                    ("uz", "Uzbek"),
                    ("mn", "Mongolian"),
                    ("tr", "Turkish"),
                    ("und", "Undetermined"),
                ],
                help_text="Language the name is given in. Left empty, it follows the script: Cyrillic and Arabic script are taken as Kazakh, Chinese characters as Chinese. A Latin spelling must say its language (Kazakh, Russian, English, pinyin…).",
                max_length=8,
            ),
        ),
    ]
