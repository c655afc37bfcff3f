"""The floor every layer stands on: the texts in every language (i18n) and the message codes lib speaks in
(messages), and how a chosen number reads (numbers). Imports nothing from lib."""
