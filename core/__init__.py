"""The base layer: what every domain shares and that uses nothing of ours.

Errors a service raises (`errors`), the clock and Asia/Shanghai time (`clock`), labelled enums and their
column type (`enums`), region coverage (`regions`, also used by the pure engine), money (`money`) and the
form-error helper (`forms`). `regions` and `clock` need neither Flask nor a database.
"""
