"""The base layer: what every domain shares and that imports nothing of ours (pyproject.toml's contracts).

- `errors`: the domain errors services raise (FieldError, NotFound, Forbidden), answered once by chainmatch/web.py;
- `clock`: naive-UTC storage and Asia/Shanghai display; `money`: yuan shown as 万元/亿元;
- `enums`: labelled enums and their column type; `roles`: the four roles;
- `regions`: GB/T 2260 coverage, the one rule (the engine and the policy evaluator use it too);
- `extensions`: the shared Flask extension objects (`db`, the login manager, the rate limiter, …);
- `database`: how requests, commands and jobs begin and end their transactions (SQLite's writer queue too);
- `access`: the role decorator and the ownership check; `submissions`: the create forms' one-time tokens;
- `forms`: a service's refusal shown beside its field; `ports`: how the sibling domains use each other.

`regions` and `clock` need neither Flask nor a database.
"""
