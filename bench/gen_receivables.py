#!/usr/bin/env python3
"""Writes N utility bills as a receivables CSV (one open bill per account)
and, beside it, FILE.accounts with `account_number,zip` per line.

Usage: gen_receivables.py FILE.csv N
"""
import random
import sys

FIRST = ["Maria", "Sam", "Ana", "John", "Li", "Priya", "Omar", "Grace", "Luis", "Fatima"]
LAST = ["Lopez", "Chen", "Garcia", "Smith", "Nguyen", "Patel", "Hassan", "Kim", "Rossi", "Okafor"]
STREETS = ["Maple Ave", "Harbor View Rd", "Oak St", "Mission St", "Cedar Ln", "Bay Blvd"]


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    rnd = random.Random(2026)
    with open(path, "w", newline="") as out, open(path + ".accounts", "w") as acc:
        out.write("account_number,verifier_zip,name,service_address,bill_period,amount_due,due_date,bill_reference\n")
        for i in range(n):
            account = "%04d-%04d" % (1000 + i // 10000, i % 10000)
            zip_code = "%05d" % (94100 + i % 90)
            name = "%s %s" % (rnd.choice(FIRST), rnd.choice(LAST))
            street = "%d %s" % (1 + i % 9000, rnd.choice(STREETS))
            cents = 1000 + rnd.randrange(40000)
            out.write('%s,%s,%s,"%s",2026-10-01/2026-10-31,%d.%02d,2026-12-18,UT-2026-10-%07d\n'
                      % (account, zip_code, name, street, cents // 100, cents % 100, i))
            acc.write("%s,%s\n" % (account, zip_code))


if __name__ == "__main__":
    main()
