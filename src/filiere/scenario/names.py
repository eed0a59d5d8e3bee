"""Name pools for people and organisations, and UN-listed names with realistic spelling variants.

The pools are small lists per region; names are drawn by index arrays and joined column-wise, so
building hundreds of thousands of names costs no per-row Python.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

FIRST: dict[str, tuple[str, ...]] = {
    "en": (
        "James",
        "Mary",
        "John",
        "Patricia",
        "Robert",
        "Jennifer",
        "Michael",
        "Linda",
        "David",
        "Elizabeth",
        "William",
        "Susan",
        "Richard",
        "Jessica",
        "Joseph",
        "Sarah",
        "Thomas",
        "Karen",
        "Daniel",
        "Nancy",
        "Matthew",
        "Lisa",
        "Anthony",
        "Betty",
        "Mark",
        "Sandra",
        "Steven",
        "Ashley",
        "Paul",
        "Emily",
    ),
    "fr": (
        "Jean",
        "Marie",
        "Pierre",
        "Nathalie",
        "Michel",
        "Isabelle",
        "Philippe",
        "Sylvie",
        "Alain",
        "Catherine",
        "Nicolas",
        "Sophie",
        "Julien",
        "Camille",
        "Thomas",
        "Julie",
        "Karim",
        "Nadia",
        "Olivier",
        "Claire",
    ),
    "de": (
        "Thomas",
        "Sabine",
        "Michael",
        "Claudia",
        "Andreas",
        "Petra",
        "Stefan",
        "Monika",
        "Jurgen",
        "Ursula",
        "Lukas",
        "Anna",
        "Felix",
        "Laura",
        "Jonas",
        "Lea",
    ),
    "zh": ("Wei", "Fang", "Li", "Na", "Jun", "Min", "Jing", "Lei", "Yan", "Qiang", "Xiu", "Hui", "Tao", "Ping"),
    "in": ("Aarav", "Priya", "Rahul", "Anjali", "Vikram", "Sunita", "Amit", "Pooja", "Sanjay", "Neha", "Ravi", "Kavya"),
    "ja": ("Hiroshi", "Yuko", "Takashi", "Keiko", "Kenji", "Akiko", "Satoshi", "Naoko", "Daisuke", "Emi"),
    "ru": ("Alexei", "Olga", "Dmitri", "Natalia", "Sergei", "Elena", "Ivan", "Tatiana", "Mikhail", "Irina"),
    "es": ("Jose", "Maria", "Juan", "Guadalupe", "Luis", "Rosa", "Carlos", "Ana", "Miguel", "Carmen"),
    "pt": ("Joao", "Ana", "Pedro", "Mariana", "Lucas", "Beatriz", "Gabriel", "Juliana", "Rafael", "Fernanda"),
    "ar": (
        "Mohamed",
        "Fatima",
        "Ahmed",
        "Aicha",
        "Abdallah",
        "Khadija",
        "Omar",
        "Mariam",
        "Youssef",
        "Zainab",
        "Ibrahim",
        "Amina",
        "Ali",
        "Hawa",
        "Hassan",
        "Salma",
        "Khalid",
        "Leila",
        "Mustafa",
        "Nour",
    ),
    "he": ("David", "Sarah", "Yosef", "Rivka", "Moshe", "Noa", "Eitan", "Tamar", "Avi", "Yael"),
    "tr": ("Mehmet", "Ayse", "Mustafa", "Fatma", "Ahmet", "Emine", "Ali", "Hatice", "Huseyin", "Zeynep"),
    "ng": (
        "Chinedu",
        "Ngozi",
        "Oluwaseun",
        "Funmilayo",
        "Emeka",
        "Chiamaka",
        "Ibrahim",
        "Aisha",
        "Musa",
        "Halima",
        "Tunde",
        "Yetunde",
        "Kwame",
        "Ama",
        "Kofi",
        "Abena",
        "Babajide",
        "Zainab",
    ),
    "wa": (
        "Amadou",
        "Fatoumata",
        "Moussa",
        "Aissata",
        "Ibrahim",
        "Mariam",
        "Oumar",
        "Awa",
        "Seydou",
        "Kadiatou",
        "Boubacar",
        "Aminata",
        "Mamadou",
        "Hawa",
        "Souleymane",
        "Rokia",
        "Adama",
        "Salimata",
        "Issa",
        "Djeneba",
        "Abdoulaye",
        "Fanta",
        "Hamidou",
        "Ramatou",
        "Ousmane",
        "Bintou",
        "Idrissa",
        "Safiatou",
        "Yacouba",
        "Oumou",
        "Alassane",
        "Kadidia",
        "Cheick",
        "Assetou",
        "Lassina",
        "Maimouna",
    ),
}

LAST: dict[str, tuple[str, ...]] = {
    "en": (
        "Smith",
        "Johnson",
        "Williams",
        "Brown",
        "Jones",
        "Miller",
        "Davis",
        "Wilson",
        "Anderson",
        "Taylor",
        "Thomas",
        "Moore",
        "Martin",
        "Jackson",
        "Thompson",
        "White",
        "Harris",
        "Clark",
        "Lewis",
        "Walker",
        "Hall",
        "Allen",
        "Young",
        "King",
        "Wright",
        "Scott",
        "Green",
        "Baker",
        "Adams",
        "Nelson",
    ),
    "fr": (
        "Martin",
        "Bernard",
        "Dubois",
        "Thomas",
        "Robert",
        "Richard",
        "Petit",
        "Durand",
        "Leroy",
        "Moreau",
        "Simon",
        "Laurent",
        "Lefebvre",
        "Michel",
        "Garcia",
        "David",
        "Bertrand",
        "Roux",
        "Benali",
        "Mansouri",
    ),
    "de": (
        "Muller",
        "Schmidt",
        "Schneider",
        "Fischer",
        "Weber",
        "Meyer",
        "Wagner",
        "Becker",
        "Schulz",
        "Hoffmann",
        "Koch",
        "Richter",
        "Klein",
        "Wolf",
    ),
    "zh": ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Ma", "Zhu"),
    "in": ("Sharma", "Patel", "Singh", "Kumar", "Gupta", "Reddy", "Iyer", "Nair", "Mehta", "Joshi", "Shah", "Rao"),
    "ja": ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura", "Kobayashi", "Kato"),
    "ru": ("Ivanov", "Smirnov", "Kuznetsov", "Popov", "Vasiliev", "Petrov", "Sokolov", "Mikhailov", "Novikov"),
    "es": ("Garcia", "Hernandez", "Lopez", "Martinez", "Gonzalez", "Rodriguez", "Perez", "Sanchez", "Ramirez"),
    "pt": ("Silva", "Santos", "Oliveira", "Souza", "Lima", "Pereira", "Ferreira", "Costa", "Rodrigues", "Almeida"),
    "ar": (
        "Al-Rashid",
        "Haddad",
        "Mansour",
        "Khalil",
        "Saleh",
        "Nasser",
        "Hamdan",
        "Ould Ahmed",
        "Benali",
        "Boukhari",
        "El Amine",
        "Ould Sidi",
        "Al-Harbi",
        "Qasim",
        "Ould Cheikh",
        "Belkacem",
        "Toumi",
        "Zerrouki",
    ),
    "he": ("Cohen", "Levi", "Mizrahi", "Peretz", "Biton", "Dahan", "Avraham", "Friedman"),
    "tr": ("Yilmaz", "Kaya", "Demir", "Sahin", "Celik", "Yildiz", "Yildirim", "Ozturk", "Aydin", "Ozdemir"),
    "ng": (
        "Okafor",
        "Adeyemi",
        "Okonkwo",
        "Bello",
        "Abubakar",
        "Eze",
        "Nwosu",
        "Balogun",
        "Mohammed",
        "Yusuf",
        "Mensah",
        "Owusu",
        "Boateng",
        "Asante",
        "Danjuma",
        "Ibrahim",
        "Lawal",
        "Usman",
    ),
    "wa": (
        "Traore",
        "Diallo",
        "Coulibaly",
        "Keita",
        "Sow",
        "Ba",
        "Cisse",
        "Toure",
        "Ouedraogo",
        "Sawadogo",
        "Maiga",
        "Diarra",
        "Konate",
        "Kabore",
        "Sangare",
        "Kone",
        "Camara",
        "Sylla",
        "Dembele",
        "Ndiaye",
        "Diop",
        "Fall",
        "Mbaye",
        "Barry",
        "Bah",
        "Zongo",
        "Compaore",
        "Issoufou",
        "Mahamadou",
        "Abdou",
        "Hama",
        "Ag Mohamed",
        "Ould Mohamed",
        "Dicko",
        "Tall",
        "Sidibe",
    ),
}

WORDS = (
    "Sahel",
    "Atlas",
    "Horizon",
    "Niger",
    "Baobab",
    "Savane",
    "Delta",
    "Oasis",
    "Etoile",
    "Union",
    "Alliance",
    "Progress",
    "Global",
    "Pioneer",
    "Summit",
    "Harbor",
    "Crescent",
    "Falcon",
    "Liberty",
    "Meridian",
    "Nova",
    "Zenith",
    "Vertex",
    "Keystone",
    "Sunrise",
    "Golden",
    "Royal",
    "Continental",
    "Express",
    "Premier",
    "Sirius",
    "Acacia",
    "Karite",
    "Tamarin",
    "Djoliba",
    "Tenere",
    "Azawad",
    "Mandingue",
    "Sudan",
    "Ocean",
)

SECTORS: dict[str, tuple[str, ...]] = {
    "company": (
        "Transport",
        "Construction",
        "Logistics",
        "Consulting",
        "Telecom",
        "Energy",
        "Agro",
        "Textiles",
        "Mining",
        "Services",
        "Industries",
        "Holdings",
        "Technologies",
        "Foods",
        "Motors",
    ),
    "shop": (
        "Boutique",
        "Market",
        "Supermarche",
        "Store",
        "Quincaillerie",
        "Electronics",
        "Alimentation",
        "Cosmetics",
        "Mobile",
        "Outdoor",
        "Travel",
    ),
    "pharmacy": ("Pharmacie", "Pharmacy", "Pharma Depot", "Medical Supply"),
    "importer": ("Import-Export", "Trading", "General Trading", "Commodities", "Negoce"),
    "npo": (
        "Relief Foundation",
        "Association for Development",
        "Charity Trust",
        "Humanitarian Aid",
        "Solidarity Network",
        "Education Fund",
        "Orphan Care",
    ),
    "mt_agent": ("Money Transfer", "Transfert Express", "Remittance Services", "Exchange Bureau"),
    "mm_agent": ("Mobile Money Point", "Cash Point", "Telecentre", "Kiosque Mobile"),
    "exchange": ("Crypto Exchange", "Digital Assets", "Coin Market", "OTC Desk"),
    "art_dealer": ("Antiquities", "Fine Art Gallery", "Art Dealers", "Antiques and Collectibles"),
    "utility": ("Electricity", "Water Utility", "Telecom Operator", "Insurance"),
    "lender": ("Consumer Credit", "Microfinance", "Personal Loans"),
}

SUFFIXES: dict[str, tuple[str, ...]] = {
    "US": ("Inc", "LLC", "Corp"),
    "GB": ("Ltd", "PLC"),
    "DE": ("GmbH", "AG"),
    "FR": ("SARL", "SA", "SAS"),
    "CH": ("AG", "SA"),
    "CN": ("Co Ltd",),
    "IN": ("Pvt Ltd",),
    "JP": ("KK",),
    "RU": ("OOO",),
    "CA": ("Inc",),
    "AU": ("Pty Ltd",),
    "MX": ("SA de CV",),
    "BR": ("Ltda",),
    "SA": ("LLC",),
    "IL": ("Ltd",),
    "AE": ("FZE", "LLC"),
    "TR": ("AS", "Ltd Sti"),
    "NG": ("Ltd", "Nig Ltd"),
    "GH": ("Ltd",),
}
DEFAULT_SUFFIXES = ("SARL", "SA", "SUARL", "GIE", "ETS")


@dataclass(frozen=True)
class ListedPerson:
    reference: str  # UN reference number, e.g. QDi.015
    name: str
    nationality: str
    birth_year: str


@cache
def listed_people() -> tuple[ListedPerson, ...]:
    """Individuals of the UN ISIL/Al-Qaida list (package extract, provenance in the file header)."""
    text = resources.files("filiere.scenario").joinpath("data/un_individuals.tsv").read_text(encoding="utf-8")
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        ref, name, nat, year = ([*line.split("\t"), "", "", ""])[:4]
        out.append(ListedPerson(ref, name, nat, year))
    return tuple(out)


_TRANSLIT: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("MOHAMMED", ("MOHAMED", "MUHAMMAD", "MOHAMMAD", "MOHAMAD")),
    ("MUHAMMAD", ("MOHAMMED", "MOHAMED", "MUHAMED")),
    ("MOHAMED", ("MOHAMMED", "MAHAMAT", "MOHAMMAD")),
    ("AHMED", ("AHMAD", "AHMET", "AHAMED")),
    ("AHMAD", ("AHMED", "AHAMAD")),
    ("ABDUL", ("ABDEL", "ABD AL", "ABDOUL")),
    ("ABDEL", ("ABDUL", "ABD EL", "ABDOUL")),
    ("ABD AL-", ("ABDUL", "ABDEL", "ABD AL ")),
    ("AL-", ("EL ", "AL ", "AL")),
    ("EL ", ("AL-", "EL-")),
    ("OULD", ("OULD", "WALD", "OULED")),
    ("YOUSSEF", ("YUSUF", "YOUSSOUF", "YOUSEF")),
    ("YUSUF", ("YOUSSEF", "YOUSOUF")),
    ("HUSSEIN", ("HUSAYN", "HOUSSEIN", "HUSSAIN")),
    ("OMAR", ("UMAR", "OUMAR")),
    ("OU", ("U",)),
    ("KH", ("K", "CH")),
    ("Q", ("K",)),
    ("EE", ("I",)),
    ("OO", ("U",)),
)


def spelling_variant(name: str, rng: random.Random) -> tuple[str, str]:
    """A realistic variant of a listed name and the kind of change made.

    Kinds: ``exact`` (as listed), ``translit`` (another transliteration), ``reorder`` (surname
    first), ``drop`` (a middle name left out), ``typo`` (a doubled or dropped letter). Names come back
    title-cased as a bank would type them.
    """
    upper = name.upper()
    kind = rng.choices(("exact", "translit", "reorder", "drop", "typo"), weights=(2, 4, 2, 2, 2))[0]
    out = upper
    if kind == "translit":
        options = [(a, b) for a, b in _TRANSLIT if a in upper]
        if options:
            a, bs = rng.choice(options)
            out = upper.replace(a, rng.choice(bs), 1)
        else:
            kind = "typo"
    parts = out.split()
    if kind == "reorder" and len(parts) >= 2:
        out = " ".join([parts[-1], *parts[:-1]])
    elif kind == "drop" and len(parts) >= 3:
        i = rng.randrange(1, len(parts) - 1)
        out = " ".join(parts[:i] + parts[i + 1 :])
    elif kind in ("reorder", "drop"):
        kind = "typo"
    if kind == "typo":
        letters = [i for i, c in enumerate(out) if c.isalpha()]
        i = rng.choice(letters[1:]) if len(letters) > 1 else 0
        out = out[:i] + out[i] + out[i:] if rng.random() < 0.5 else out[:i] + out[i + 1 :]
    out = re.sub(r"\s+", " ", out).strip()
    return _title(out), kind


def _title(s: str) -> str:
    return " ".join("-".join(p.capitalize() for p in w.split("-")) for w in s.split(" "))
