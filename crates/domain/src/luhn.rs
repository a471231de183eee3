//! The Luhn check digit. cityteller never handles card numbers; this serves
//! the sandbox processor (which validates test cards on its own page) and
//! the scan that proves no card number reached our storage or logs.

/// True when `digits` (ASCII digits only, at least two) passes the Luhn
/// check.
pub fn luhn(digits: &str) -> bool {
    if digits.len() < 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// 13 to 19 digits passing the Luhn check: the shape of a card number.
pub fn card_shaped(digits: &str) -> bool {
    (13..=19).contains(&digits.len()) && luhn(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_numbers() {
        assert!(card_shaped("4242424242424242"));
        assert!(card_shaped("378282246310005"));
        assert!(!card_shaped("4242424242424241"));
        assert!(!card_shaped("42424242"));
        assert!(!card_shaped("4242a24242424242"));
        assert!(luhn("79927398713"));
        assert!(!luhn(""));
    }
}
