"""Generate auth_service/data/common-passwords.txt: the passwords registration refuses.

No breach corpus can be downloaded where this project is built, so the list is made from the
patterns that dominate every published list of leaked passwords: digit runs, keyboard walks,
repeated characters, common words and first names alone or followed by digits or years, and
a few "leet" variants. It is deterministic: running it again gives the same file.

Only passwords of at least 8 characters are kept (shorter ones are refused by length anyway).

    python scripts/make_common_passwords.py   # from services/auth/
"""

from __future__ import annotations

from pathlib import Path


def words(text: str) -> list[str]:
    """The whitespace-separated words of ``text``, in order."""
    return text.split()


OUTPUT = Path(__file__).resolve().parent.parent / "auth_service" / "data" / "common-passwords.txt"
MIN_LENGTH = 8

WORDS = words(
    """
password passw0rd p@ssword p@ssw0rd letmein welcome admin administrator login master
monkey dragon shadow sunshine princess football baseball basketball soccer hockey
superman batman spiderman starwars pokemon computer internet iloveyou trustno1 freedom
whatever qwerty secret love lovely hello charlie summer winter spring autumn flower
chocolate cookie cheese pepper butter banana orange purple yellow silver golden diamond
angel angels babygirl baby sweety sweetheart jesus christ heaven blessed mustang ferrari
porsche corvette harley yamaha hunter ranger killer matrix hacker ninja pirate samurai
tiger lion eagle falcon dolphin panther jordan michael family friends forever soccer1
liverpool chelsea arsenal barcelona madrid juventus yankees cowboys lakers warriors
access passport security default changeme guest office company business manager student
teacher school college london paris berlin america canada mexico england rainbow thunder
lightning phoenix galaxy universe planet cosmos rocket zombie vampire monster guitar
music rockstar player gamer gaming minecraft fortnite roblox internet apple google
facebook twitter linkedin amazon microsoft windows samsung iphone android coffee pizza
burger chicken money dollar richman lucky lucky7 happy smile sunny flowers
"""
)

NAMES = words(
    """
michael jennifer jessica ashley amanda daniel david james robert john joseph andrew
thomas matthew joshua christopher anthony william nicole elizabeth sarah melissa
stephanie heather michelle amber samantha charlie george oliver harry jack emily sophie
chloe lucy olivia emma isabella mia ava lily grace anna maria jose carlos juan luis
alexander alex justin brandon tyler kevin jason eric steven richard patrick nicholas
"""
)

KEYBOARD_WALKS = words(
    """
qwertyui qwertyuiop asdfghjk asdfghjkl zxcvbnm1 zxcvbnm123 1qaz2wsx 1q2w3e4r 1q2w3e4r5t
qazwsxedc qweasdzxc q1w2e3r4 q1w2e3r4t5 zaq12wsx !qaz2wsx azertyui azertyuiop qwertzui
1qazxsw2 qwerty12 qwerty123 qwerty1234 asdf1234 zxcv1234 qwer1234 abcd1234 abc12345
1234qwer 123qweasd qweqweqwe asdasdasd zxczxczxc
"""
)

SUFFIXES = ["1", "12", "123", "1234", "12345", "123456", "!", "1!", "123!", "01", "007", "69", "99"]
YEARS = [str(year) for year in range(1985, 2027)]


def leet(word: str) -> str:
    """The most common substitutions: a->@, o->0, e->3, i->1, s->$."""
    return word.translate(str.maketrans("aoeis", "@031$"))


def candidates() -> list[str]:
    """Every generated password, in a stable order, duplicates allowed."""
    found: list[str] = []
    digits = "12345678901234567890"
    for length in range(MIN_LENGTH, 13):
        found.append(digits[:length])
        found.append("0" + digits[: length - 1])
        found.append(digits[:length][::-1])
    for char in "0123456789abcdefghijklmnopqrstuvwxyz!":
        found.extend(char * length for length in range(MIN_LENGTH, 13))
    for pair in ("12", "123", "1234", "abc", "ab", "qwe", "asd", "69", "00", "11"):
        found.append(pair * (MIN_LENGTH // len(pair) + 1))
    found.extend(KEYBOARD_WALKS)
    for base in WORDS + NAMES:
        capitalised = base.capitalize()
        found += [base, capitalised, leet(base), base + base]
        for suffix in SUFFIXES:
            found += [base + suffix, capitalised + suffix]
    # Names and the most popular words followed by a year (a birth year, "this year").
    for base in NAMES + WORDS[:30]:
        found += [base + year for year in YEARS]
    return found


def main() -> None:
    """Write the file: unique, at least MIN_LENGTH characters, sorted."""
    unique = sorted({word for word in candidates() if len(word) >= MIN_LENGTH})
    OUTPUT.write_text("\n".join(unique) + "\n", encoding="utf-8")
    print(f"wrote {len(unique)} passwords to {OUTPUT}")


if __name__ == "__main__":
    main()
