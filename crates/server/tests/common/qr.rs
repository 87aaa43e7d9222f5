//! Reading back the QR codes the printed pages carry, with a real decoder (`rqrr`).

/// The `<path d>` of a QR code made by the `qrcode` crate (`M{x} {y}h{w}v{h}H{x}V{y}` per dark
/// run, one unit per module) drawn as a grey image, `px` pixels per module.
pub fn rasterise(svg: &str, px: u32) -> image::GrayImage {
    let attr = |name: &str| -> u32 {
        let i = svg.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        svg[i..].split('"').next().unwrap().parse().unwrap()
    };
    let (w, h) = (attr("width"), attr("height"));
    let mut img = image::GrayImage::from_pixel(w * px, h * px, image::Luma([255]));
    let d = svg
        .split(" d=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    for cmd in d.split('M').filter(|c| !c.is_empty()) {
        // "x y" "h" w "v" h "H" x "V" y
        let (xy, rest) = cmd.split_once('h').unwrap();
        let (x, y) = xy.split_once(' ').unwrap();
        let (rw, rest) = rest.split_once('v').unwrap();
        let rh = rest.split_once('H').unwrap().0;
        let [x, y, rw, rh]: [u32; 4] = [x, y, rw, rh].map(|v| v.trim().parse().unwrap());
        for yy in y * px..(y + rh) * px {
            for xx in x * px..(x + rw) * px {
                img.put_pixel(xx, yy, image::Luma([0]));
            }
        }
    }
    img
}

/// The text of the one QR code in `svg` (as the `qrcode` crate draws it), read by `rqrr`.
pub fn decode(svg: &str) -> String {
    let mut prepared = rqrr::PreparedImage::prepare(rasterise(svg, 6));
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().unwrap().1
}
