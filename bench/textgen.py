"""Deterministic source-like text for the hfleaks benchmarks.

Shared by gen_tree.py (the `scan` tree) and gen_history.py (the `history`
repository). Everything is drawn from a `random.Random` seeded by the caller,
so the same seed always yields byte-identical output.

What is generated:
- pools of code "blocks" (a few lines each) per language: Python, JavaScript/
  TypeScript, YAML, Markdown and JSON-ish, built from fixed word lists and
  random identifiers, numbers and hex digests. None of them contains `hf_`.
- a few "Hub API" blocks that do contain `hf_` identifiers
  (`hf_hub_download`, `hf_api`, ...) but no token: they exercise the
  prefilter and the regex without producing findings.
- synthetic tokens: `hf_` + 34 ASCII letters from the seeded RNG, embedded
  in a few typical contexts. These exist only in generated data; this file
  only holds the code that makes them.
"""

import random
import string

WORDS = (
    "model data train test batch config loader optimizer scheduler layer "
    "weight bias input output hidden state cache buffer stream request "
    "response client server session handler router worker queue task job "
    "result value index offset length count total score metric loss step "
    "epoch device tensor array matrix vector token text image audio label "
    "dataset split shard chunk block frame record entry item node edge graph "
    "path file dir name key field schema table column row query filter sort "
    "page user account group role policy event message payload header body "
    "status error retry timeout limit rate window level mode kind type "
    "format encoder decoder parser writer reader logger tracer pipeline stage"
).split()

VERBS = (
    "get set load save build make parse read write send fetch update create "
    "delete compute apply reset run start stop open close init merge split "
    "encode decode render validate normalize resolve register dispatch"
).split()

CAMEL = [w.capitalize() for w in WORDS]
LETTERS = string.ascii_letters

# Identifiers containing `hf_` that are not tokens (Hub client APIs, config keys).
HUB_IDENTS = (
    "hf_hub_download", "hf_hub_url", "hf_api", "hf_token", "hf_transfer",
    "hf_cache_home", "hf_hub_cache", "hf_model_id", "hf_dataset",
)


def ident(rng, parts=(1, 3)):
    n = rng.randint(*parts)
    return "_".join(rng.choice(WORDS) for _ in range(n))


def camel(rng, parts=(1, 3)):
    n = rng.randint(*parts)
    return "".join(rng.choice(CAMEL) for _ in range(n))


def func_name(rng):
    return rng.choice(VERBS) + "_" + ident(rng, (1, 2))


def sentence(rng, lo=6, hi=18):
    words = [rng.choice(WORDS + VERBS) for _ in range(rng.randint(lo, hi))]
    words[0] = words[0].capitalize()
    return " ".join(words) + "."


def hexdigest(rng, n=40):
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


# ---------------------------------------------------------------- languages

def py_block(rng):
    kind = rng.random()
    if kind < 0.45:
        args = ", ".join(ident(rng, (1, 2)) for _ in range(rng.randint(0, 4)))
        lines = [f"def {func_name(rng)}({args}):",
                 f'    """{sentence(rng)}"""']
        for _ in range(rng.randint(2, 12)):
            r = rng.random()
            if r < 0.3:
                lines.append(f"    {ident(rng)} = {ident(rng)}.{func_name(rng)}({ident(rng, (1, 1))})")
            elif r < 0.5:
                lines.append(f"    if {ident(rng)} > {rng.randint(0, 4096)}:")
                lines.append(f"        return {ident(rng)}")
            elif r < 0.7:
                lines.append(f"    for {ident(rng, (1, 1))} in {ident(rng)}:")
                lines.append(f"        {ident(rng)}.append({ident(rng, (1, 1))} * {rng.random():.4f})")
            elif r < 0.85:
                lines.append(f"    # {sentence(rng, 4, 12)}")
            else:
                lines.append(f'    logger.info("{sentence(rng, 3, 8)} %s", {ident(rng)})')
        lines.append(f"    return {ident(rng)}")
        return "\n".join(lines) + "\n\n\n"
    if kind < 0.7:
        lines = [f"class {camel(rng)}({rng.choice(['object', 'nn.Module', 'BaseModel', camel(rng, (1, 2))])}):",
                 f'    """{sentence(rng)}"""', ""]
        for _ in range(rng.randint(1, 4)):
            lines.append(f"    def {func_name(rng)}(self, {ident(rng, (1, 1))}):")
            for _ in range(rng.randint(1, 6)):
                lines.append(f"        self.{ident(rng)} = {ident(rng)}({rng.randint(1, 1024)})")
            lines.append("")
        return "\n".join(lines) + "\n"
    if kind < 0.85:
        return "".join(
            rng.choice([f"import {ident(rng, (1, 1))}\n",
                        f"from {ident(rng, (1, 1))}.{ident(rng, (1, 1))} import {camel(rng)}, {func_name(rng)}\n"])
            for _ in range(rng.randint(2, 8))) + "\n"
    return "".join(f"{ident(rng).upper()} = {rng.choice([str(rng.randint(0, 100000)), repr(ident(rng)), f'{rng.random():.6f}'])}\n"
                   for _ in range(rng.randint(3, 10))) + "\n"


def js_block(rng):
    kind = rng.random()
    if kind < 0.5:
        args = ", ".join(ident(rng, (1, 1)) for _ in range(rng.randint(0, 3)))
        name = rng.choice(VERBS) + camel(rng, (1, 2))
        lines = [f"export async function {name}({args}) {{"]
        for _ in range(rng.randint(2, 12)):
            r = rng.random()
            if r < 0.35:
                lines.append(f"  const {ident(rng, (1, 1))}{camel(rng, (1, 1))} = await {ident(rng, (1, 1))}.{rng.choice(VERBS)}{camel(rng, (1, 1))}({ident(rng, (1, 1))});")
            elif r < 0.55:
                lines.append(f"  if ({ident(rng, (1, 1))}.length > {rng.randint(0, 512)}) {{ return null; }}")
            elif r < 0.75:
                lines.append(f"  // {sentence(rng, 4, 12)}")
            else:
                lines.append(f"  console.log(`{sentence(rng, 3, 7)} ${{{ident(rng, (1, 1))}}}`);")
        lines.append("}")
        return "\n".join(lines) + "\n\n"
    if kind < 0.75:
        fields = "\n".join(f"  {ident(rng, (1, 1))}{camel(rng, (0, 1))}: {rng.choice(['string', 'number', 'boolean', camel(rng, (1, 2))])};"
                           for _ in range(rng.randint(2, 9)))
        return f"export interface {camel(rng)} {{\n{fields}\n}}\n\n"
    return "".join(f"import {{ {camel(rng)} }} from './{ident(rng, (1, 2))}';\n"
                   for _ in range(rng.randint(2, 6))) + "\n"


def yaml_block(rng):
    lines = [f"{ident(rng)}:"]
    for _ in range(rng.randint(2, 10)):
        r = rng.random()
        if r < 0.5:
            lines.append(f"  {ident(rng)}: {rng.randint(0, 65535)}")
        elif r < 0.8:
            lines.append(f"  {ident(rng)}: {ident(rng)}")
        else:
            lines.append(f"  - name: {ident(rng)}\n    run: {rng.choice(VERBS)} --{ident(rng, (1, 1))} {ident(rng, (1, 1))}")
    return "\n".join(lines) + "\n"


def md_block(rng):
    r = rng.random()
    if r < 0.2:
        return f"## {sentence(rng, 2, 6)[:-1]}\n\n"
    if r < 0.8:
        return " ".join(sentence(rng) for _ in range(rng.randint(2, 6))) + "\n\n"
    items = "".join(f"- `{ident(rng)}`: {sentence(rng, 3, 10)}\n" for _ in range(rng.randint(2, 6)))
    return items + "\n"


def json_block(rng):
    fields = []
    for _ in range(rng.randint(3, 10)):
        r = rng.random()
        if r < 0.3:
            fields.append(f'    "{ident(rng)}": {rng.randint(0, 10**6)}')
        elif r < 0.6:
            fields.append(f'    "{ident(rng)}": "{ident(rng)}"')
        elif r < 0.8:
            fields.append(f'    "{ident(rng)}": {rng.random():.6f}')
        else:
            fields.append(f'    "sha": "{hexdigest(rng)}"')
    return "  {\n" + ",\n".join(fields) + "\n  },\n"


LANGS = {
    # extension: (block generator, share of files)
    "py": (py_block, 0.32),
    "js": (js_block, 0.14),
    "ts": (js_block, 0.10),
    "yaml": (yaml_block, 0.10),
    "md": (md_block, 0.16),
    "json": (json_block, 0.18),
}


def hub_block(rng, ext):
    """A block that uses `hf_` identifiers but holds no token."""
    name = rng.choice(HUB_IDENTS)
    if ext == "py":
        return (f"from huggingface_hub import hf_hub_download, HfApi\n\n"
                f"{ident(rng)} = hf_hub_download(repo_id=\"{ident(rng, (1, 1))}/{ident(rng, (1, 2))}\", "
                f"filename=\"{ident(rng, (1, 1))}.safetensors\")\n"
                f"{name} = os.environ.get(\"HF_TOKEN\")\n\n")
    if ext in ("js", "ts"):
        return f"const {name} = process.env.HF_TOKEN; // {sentence(rng, 3, 6)}\n\n"
    if ext == "yaml":
        return f"{name}: ${{{{ secrets.HF_TOKEN }}}}\n"
    if ext == "json":
        return f'  {{\n    "{name}": "{ident(rng)}"\n  }},\n'
    return f"Call `{name}` ({sentence(rng, 3, 8)})\n\n"


def make_pools(rng, per_lang):
    return {ext: [gen(rng) for _ in range(per_lang)] for ext, (gen, _) in LANGS.items()}


def pick_ext(rng):
    r = rng.random()
    acc = 0.0
    for ext, (_, share) in LANGS.items():
        acc += share
        if r < acc:
            return ext
    return "py"


def synthetic_token(rng):
    """`hf_` + 34 random mixed-case ASCII letters: token-shaped, never real."""
    while True:
        body = "".join(rng.choice(LETTERS) for _ in range(34))
        if any(c.islower() for c in body) and any(c.isupper() for c in body):
            return "hf_" + body


def token_block(rng, ext, token):
    """A line that leaks `token` the way people typically do it."""
    if ext == "py":
        return rng.choice([f'HF_TOKEN = "{token}"\n', f"login(token='{token}')\n",
                           f'headers = {{"Authorization": "Bearer {token}"}}\n'])
    if ext in ("js", "ts"):
        return f'const hfToken = "{token}";\n'
    if ext == "yaml":
        return f"hf_token: {token}\n"
    if ext == "json":
        return f'  {{\n    "token": "{token}"\n  }},\n'
    return f"Export it first: `export HF_TOKEN={token}`\n\n"


def wrap(ext, body):
    """Make the file look like its type (JSON gets brackets, Markdown a title)."""
    if ext == "json":
        return "[\n" + body + "  {}\n]\n"
    if ext == "md":
        return "# Notes\n\n" + body
    return body
