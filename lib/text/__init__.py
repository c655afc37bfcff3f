"""The floor every layer stands on: the texts in every language (i18n) and the message codes lib speaks in
(messages). Imports nothing from lib."""
