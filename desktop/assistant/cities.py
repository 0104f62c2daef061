"""Where is it: cities, countries and regions people ask the time in, mapped to IANA time zones.

A hand-written table of a few hundred cities (and countries with one zone), plus every city that names a zone
in the tz database itself ("America/Argentina/Buenos_Aires" -> "buenos aires"). Data only, and a lookup.
"""

from __future__ import annotations

import functools
import zoneinfo

__all__ = ["Place", "find_place", "place_count"]

# zone: comma-separated names of places in it. Keep names as people say them; the display form is the first spelling.
_ZONES: dict[str, str] = {
    "America/New_York": "New York, New York City, NYC, Manhattan, Brooklyn, Boston, Washington, Washington DC, "
    "Philadelphia, Atlanta, Miami, Orlando, Tampa, Jacksonville, Charlotte, Raleigh, Pittsburgh, Baltimore, "
    "Cleveland, Columbus, Cincinnati, Buffalo, Newark, Hartford, Providence, Richmond, Virginia Beach, Savannah, "
    "Charleston, Norfolk, Albany, Rochester, Syracuse, Florida, Georgia, Ohio, Massachusetts, East Coast",
    "America/Detroit": "Detroit, Michigan, Grand Rapids",
    "America/Indiana/Indianapolis": "Indianapolis, Indiana",
    "America/Kentucky/Louisville": "Louisville, Kentucky",
    "America/Chicago": "Chicago, Houston, Dallas, San Antonio, Austin, Fort Worth, Memphis, Nashville, "
    "New Orleans, Milwaukee, Minneapolis, Saint Paul, St Louis, Saint Louis, Kansas City, Oklahoma City, Tulsa, "
    "Omaha, Madison, Des Moines, Little Rock, Birmingham Alabama, Texas, Illinois, Minnesota, Wisconsin, "
    "Louisiana, Tennessee, Missouri, Iowa",
    "America/Denver": "Denver, Salt Lake City, Albuquerque, El Paso, Boise, Colorado, Utah, New Mexico, Wyoming, "
    "Montana",
    "America/Phoenix": "Phoenix, Tucson, Scottsdale, Arizona",
    "America/Los_Angeles": "Los Angeles, LA, San Francisco, SF, San Diego, San Jose, Seattle, Portland, "
    "Las Vegas, Sacramento, Oakland, Fresno, Long Beach, Spokane, Tacoma, Reno, Palo Alto, Silicon Valley, "
    "Hollywood, California, Washington State, Oregon, Nevada, West Coast",
    "America/Anchorage": "Anchorage, Fairbanks, Juneau, Alaska",
    "Pacific/Honolulu": "Honolulu, Hawaii, Maui",
    "America/Toronto": "Toronto, Ottawa, Montreal, Quebec City, Quebec, Ontario, Hamilton",
    "America/Vancouver": "Vancouver, Victoria, British Columbia",
    "America/Edmonton": "Edmonton, Calgary, Alberta",
    "America/Winnipeg": "Winnipeg, Manitoba",
    "America/Regina": "Regina, Saskatoon, Saskatchewan",
    "America/Halifax": "Halifax, Nova Scotia",
    "America/St_Johns": "St Johns, Saint Johns, Newfoundland",
    "America/Mexico_City": "Mexico City, Guadalajara, Monterrey, Puebla, Mexico",
    "America/Cancun": "Cancun",
    "America/Tijuana": "Tijuana",
    "America/Guatemala": "Guatemala City, Guatemala",
    "America/El_Salvador": "San Salvador, El Salvador",
    "America/Tegucigalpa": "Tegucigalpa, Honduras",
    "America/Managua": "Managua, Nicaragua",
    "America/Costa_Rica": "San Jose Costa Rica, Costa Rica",
    "America/Panama": "Panama City, Panama",
    "America/Havana": "Havana, Cuba",
    "America/Jamaica": "Kingston, Jamaica",
    "America/Santo_Domingo": "Santo Domingo, Dominican Republic",
    "America/Puerto_Rico": "San Juan, Puerto Rico",
    "America/Port-au-Prince": "Port au Prince, Haiti",
    "America/Bogota": "Bogota, Medellin, Cali, Cartagena, Colombia",
    "America/Caracas": "Caracas, Venezuela",
    "America/Lima": "Lima, Cusco, Peru",
    "America/Guayaquil": "Quito, Guayaquil, Ecuador",
    "America/La_Paz": "La Paz, Bolivia",
    "America/Santiago": "Santiago, Valparaiso, Chile",
    "America/Argentina/Buenos_Aires": "Buenos Aires, Cordoba, Rosario, Mendoza, Argentina",
    "America/Montevideo": "Montevideo, Uruguay",
    "America/Asuncion": "Asuncion, Paraguay",
    "America/Sao_Paulo": "Sao Paulo, Rio de Janeiro, Rio, Brasilia, Belo Horizonte, Curitiba, Porto Alegre, "
    "Salvador, Brazil",
    "America/Fortaleza": "Fortaleza, Recife",
    "America/Manaus": "Manaus",
    "Atlantic/Reykjavik": "Reykjavik, Iceland",
    "Europe/London": "London, Manchester, Birmingham, Liverpool, Leeds, Glasgow, Edinburgh, Bristol, Cardiff, "
    "Belfast, Newcastle, Sheffield, Nottingham, Oxford, Cambridge, Brighton, Southampton, Aberdeen, York, "
    "England, Scotland, Wales, United Kingdom, UK, Britain, Great Britain",
    "Europe/Dublin": "Dublin, Cork, Galway, Ireland",
    "Europe/Lisbon": "Lisbon, Porto, Portugal",
    "Atlantic/Madeira": "Madeira, Funchal",
    "Atlantic/Canary": "Canary Islands, Tenerife, Las Palmas, Gran Canaria",
    "Europe/Madrid": "Madrid, Barcelona, Valencia, Seville, Malaga, Bilbao, Zaragoza, Ibiza, Mallorca, Spain",
    "Europe/Paris": "Paris, Lyon, Marseille, Toulouse, Nice, Nantes, Strasbourg, Bordeaux, Lille, Montpellier, "
    "France",
    "Europe/Brussels": "Brussels, Antwerp, Ghent, Bruges, Belgium",
    "Europe/Amsterdam": "Amsterdam, Rotterdam, The Hague, Utrecht, Eindhoven, Netherlands, Holland",
    "Europe/Luxembourg": "Luxembourg",
    "Europe/Berlin": "Berlin, Hamburg, Munich, Cologne, Frankfurt, Stuttgart, Dusseldorf, Dortmund, Essen, "
    "Leipzig, Dresden, Hanover, Nuremberg, Bremen, Bonn, Heidelberg, Germany",
    "Europe/Zurich": "Zurich, Geneva, Basel, Bern, Lausanne, Switzerland",
    "Europe/Vienna": "Vienna, Salzburg, Graz, Innsbruck, Austria",
    "Europe/Rome": "Rome, Milan, Naples, Turin, Florence, Venice, Bologna, Genoa, Palermo, Verona, Italy",
    "Europe/Malta": "Valletta, Malta",
    "Europe/Monaco": "Monaco, Monte Carlo",
    "Europe/Copenhagen": "Copenhagen, Aarhus, Denmark",
    "Europe/Oslo": "Oslo, Bergen, Norway",
    "Europe/Stockholm": "Stockholm, Gothenburg, Malmo, Sweden",
    "Europe/Helsinki": "Helsinki, Espoo, Tampere, Finland",
    "Europe/Tallinn": "Tallinn, Estonia",
    "Europe/Riga": "Riga, Latvia",
    "Europe/Vilnius": "Vilnius, Lithuania",
    "Europe/Warsaw": "Warsaw, Krakow, Gdansk, Wroclaw, Poznan, Lodz, Poland",
    "Europe/Prague": "Prague, Brno, Czech Republic, Czechia",
    "Europe/Bratislava": "Bratislava, Slovakia",
    "Europe/Budapest": "Budapest, Hungary",
    "Europe/Ljubljana": "Ljubljana, Slovenia",
    "Europe/Zagreb": "Zagreb, Split, Dubrovnik, Croatia",
    "Europe/Belgrade": "Belgrade, Serbia",
    "Europe/Sarajevo": "Sarajevo, Bosnia",
    "Europe/Skopje": "Skopje, North Macedonia",
    "Europe/Tirane": "Tirana, Albania",
    "Europe/Podgorica": "Podgorica, Montenegro",
    "Europe/Bucharest": "Bucharest, Cluj, Romania",
    "Europe/Sofia": "Sofia, Bulgaria",
    "Europe/Athens": "Athens, Thessaloniki, Crete, Greece",
    "Asia/Nicosia": "Nicosia, Cyprus",
    "Europe/Istanbul": "Istanbul, Ankara, Izmir, Antalya, Turkey, Turkiye",
    "Europe/Kyiv": "Kyiv, Kiev, Kharkiv, Odesa, Odessa, Lviv, Dnipro, Ukraine",
    "Europe/Chisinau": "Chisinau, Moldova",
    "Europe/Minsk": "Minsk, Belarus",
    "Europe/Moscow": "Moscow, Saint Petersburg, St Petersburg, Kazan, Nizhny Novgorod, Russia",
    "Asia/Yekaterinburg": "Yekaterinburg",
    "Asia/Novosibirsk": "Novosibirsk",
    "Asia/Vladivostok": "Vladivostok",
    "Asia/Tbilisi": "Tbilisi",
    "Asia/Yerevan": "Yerevan, Armenia",
    "Asia/Baku": "Baku, Azerbaijan",
    "Asia/Jerusalem": "Jerusalem, Tel Aviv, Haifa, Israel",
    "Asia/Beirut": "Beirut, Lebanon",
    "Asia/Amman": "Amman, Jordan",
    "Asia/Damascus": "Damascus, Syria",
    "Asia/Baghdad": "Baghdad, Iraq",
    "Asia/Riyadh": "Riyadh, Jeddah, Mecca, Medina, Saudi Arabia",
    "Asia/Kuwait": "Kuwait City, Kuwait",
    "Asia/Qatar": "Doha, Qatar",
    "Asia/Bahrain": "Manama, Bahrain",
    "Asia/Dubai": "Dubai, Abu Dhabi, Sharjah, United Arab Emirates, UAE",
    "Asia/Muscat": "Muscat, Oman",
    "Asia/Tehran": "Tehran, Isfahan, Iran",
    "Asia/Kabul": "Kabul, Afghanistan",
    "Asia/Karachi": "Karachi, Lahore, Islamabad, Rawalpindi, Faisalabad, Pakistan",
    "Asia/Tashkent": "Tashkent, Samarkand, Uzbekistan",
    "Asia/Almaty": "Almaty, Astana, Kazakhstan",
    "Asia/Bishkek": "Bishkek, Kyrgyzstan",
    "Asia/Kolkata": "Delhi, New Delhi, Mumbai, Bombay, Bangalore, Bengaluru, Kolkata, Calcutta, Chennai, "
    "Madras, Hyderabad, Pune, Ahmedabad, Jaipur, Lucknow, Goa, Kochi, India",
    "Asia/Colombo": "Colombo, Sri Lanka",
    "Asia/Kathmandu": "Kathmandu, Nepal",
    "Asia/Thimphu": "Thimphu, Bhutan",
    "Asia/Dhaka": "Dhaka, Chittagong, Bangladesh",
    "Asia/Yangon": "Yangon, Rangoon, Myanmar, Burma",
    "Asia/Bangkok": "Bangkok, Chiang Mai, Phuket, Pattaya, Thailand",
    "Asia/Ho_Chi_Minh": "Ho Chi Minh City, Saigon, Hanoi, Da Nang, Vietnam",
    "Asia/Phnom_Penh": "Phnom Penh, Cambodia",
    "Asia/Vientiane": "Vientiane, Laos",
    "Asia/Kuala_Lumpur": "Kuala Lumpur, Penang, Malaysia",
    "Asia/Singapore": "Singapore",
    "Asia/Jakarta": "Jakarta, Bandung, Surabaya, Java",
    "Asia/Makassar": "Bali, Denpasar",
    "Asia/Manila": "Manila, Quezon City, Cebu, Davao, Philippines",
    "Asia/Shanghai": "Shanghai, Beijing, Peking, Shenzhen, Guangzhou, Chengdu, Chongqing, Wuhan, Hangzhou, "
    "Nanjing, Xian, Tianjin, Suzhou, China",
    "Asia/Hong_Kong": "Hong Kong",
    "Asia/Macau": "Macau, Macao",
    "Asia/Taipei": "Taipei, Kaohsiung, Taiwan",
    "Asia/Seoul": "Seoul, Busan, Incheon, South Korea, Korea",
    "Asia/Pyongyang": "Pyongyang, North Korea",
    "Asia/Tokyo": "Tokyo, Osaka, Kyoto, Yokohama, Nagoya, Sapporo, Kobe, Fukuoka, Hiroshima, Sendai, Okinawa, "
    "Japan",
    "Asia/Ulaanbaatar": "Ulaanbaatar, Mongolia",
    "Australia/Perth": "Perth, Western Australia",
    "Australia/Darwin": "Darwin",
    "Australia/Adelaide": "Adelaide, South Australia",
    "Australia/Brisbane": "Brisbane, Gold Coast, Cairns, Queensland",
    "Australia/Sydney": "Sydney, Canberra, Newcastle Australia, New South Wales, Australia",
    "Australia/Melbourne": "Melbourne, Victoria Australia",
    "Australia/Hobart": "Hobart, Tasmania",
    "Pacific/Auckland": "Auckland, Wellington, Christchurch, Queenstown, New Zealand",
    "Pacific/Fiji": "Suva, Fiji",
    "Pacific/Port_Moresby": "Port Moresby, Papua New Guinea",
    "Pacific/Guam": "Guam",
    "Pacific/Tahiti": "Tahiti, Papeete",
    "Africa/Cairo": "Cairo, Alexandria, Giza, Egypt",
    "Africa/Casablanca": "Casablanca, Rabat, Marrakesh, Marrakech, Fez, Morocco",
    "Africa/Algiers": "Algiers, Algeria",
    "Africa/Tunis": "Tunis, Tunisia",
    "Africa/Tripoli": "Tripoli, Libya",
    "Africa/Khartoum": "Khartoum, Sudan",
    "Africa/Addis_Ababa": "Addis Ababa, Ethiopia",
    "Africa/Nairobi": "Nairobi, Mombasa, Kenya",
    "Africa/Kampala": "Kampala, Uganda",
    "Africa/Dar_es_Salaam": "Dar es Salaam, Dodoma, Zanzibar, Tanzania",
    "Africa/Kigali": "Kigali, Rwanda",
    "Africa/Mogadishu": "Mogadishu, Somalia",
    "Africa/Lagos": "Lagos, Abuja, Ibadan, Kano, Nigeria",
    "Africa/Accra": "Accra, Kumasi, Ghana",
    "Africa/Abidjan": "Abidjan, Ivory Coast",
    "Africa/Dakar": "Dakar, Senegal",
    "Africa/Bamako": "Bamako, Mali",
    "Africa/Kinshasa": "Kinshasa, Congo",
    "Africa/Luanda": "Luanda, Angola",
    "Africa/Douala": "Douala, Yaounde, Cameroon",
    "Africa/Johannesburg": "Johannesburg, Cape Town, Durban, Pretoria, Port Elizabeth, South Africa",
    "Africa/Harare": "Harare, Zimbabwe",
    "Africa/Lusaka": "Lusaka, Zambia",
    "Africa/Maputo": "Maputo, Mozambique",
    "Africa/Windhoek": "Windhoek, Namibia",
    "Africa/Gaborone": "Gaborone, Botswana",
    "Indian/Antananarivo": "Antananarivo, Madagascar",
    "Indian/Mauritius": "Port Louis, Mauritius",
    "Indian/Maldives": "Male, Maldives",
    "UTC": "UTC, GMT, Greenwich, Zulu, Coordinated Universal Time, Universal Time",
}


_REGIONS = {"Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific"}
_NOT_CITIES = {"north", "south", "west", "east", "central", "eastern", "western", "mountain", "pacific", "atlantic",
               "acre", "yukon", "lhi", "act", "nsw", "queensland", "victoria", "tasmania", "canberra"}


class Place:
    """A place a person named and its zone: ``Place("Tokyo", "Asia/Tokyo")``."""

    __slots__ = ("name", "zone")

    def __init__(self, name: str, zone: str) -> None:
        self.name = name
        self.zone = zone

    def __repr__(self) -> str:
        return f"Place({self.name!r}, {self.zone!r})"


def _key(name: str) -> str:
    return " ".join(name.lower().replace(".", " ").replace("-", " ").replace("'", "").split())


@functools.lru_cache(maxsize=1)
def _table() -> dict[str, Place]:
    table: dict[str, Place] = {}
    available = zoneinfo.available_timezones()
    for zone in sorted(available):  # cities the tz database itself names come first, hand-written names win
        if "/" in zone and zone.split("/", 1)[0] in _REGIONS:
            city = zone.rsplit("/", 1)[1].replace("_", " ")
            if city.lower() in _NOT_CITIES:
                continue
            table.setdefault(_key(city), Place(city, zone))
    for zone, names in _ZONES.items():
        if zone not in available and zone != "UTC":
            continue
        for name in names.split(","):
            name = name.strip()
            table[_key(name)] = Place(name, zone)
    return table


def find_place(spoken: str, *, exact: bool = False) -> Place | None:
    """The place named in ``spoken`` ("tokyo", "new york city", "paris france", "Europe/Paris"), or None.

    Unless ``exact``, a short phrase may name a place with its region ("paris france", "downtown tokyo").
    """
    key = _key(spoken)
    table = _table()
    if key in table:
        return table[key]
    if key.startswith("the ") and key[4:] in table:
        return table[key[4:]]
    if "/" in spoken:  # an IANA name said or typed as is
        try:
            zoneinfo.ZoneInfo(spoken.strip())
            return Place(spoken.strip().rsplit("/", 1)[1].replace("_", " "), spoken.strip())
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return None
    words = key.split()
    if exact or len(words) > 4:
        return None
    for length in range(len(words) - 1, 0, -1):  # "paris france" -> "paris"; "downtown tokyo" -> "tokyo"
        for start in (0, len(words) - length):
            candidate = " ".join(words[start:start + length])
            if candidate in table:
                return table[candidate]
    return None


def place_count() -> int:
    """How many place names the table knows (for tests and the README)."""
    return len(_table())
